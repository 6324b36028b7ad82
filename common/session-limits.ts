/** Session length unless policy grants more: STS's minimum, the least that covers one action. */
export const DEFAULT_SESSION_SECONDS = 900;
/** The longest session Airlock ever asks STS for, whatever policy grants (`@session_duration`). */
export const MAX_SESSION_SECONDS = 3600;
