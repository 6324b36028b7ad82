import type { PolicyDecision } from './types';

/** A fact's value, short, as people read it in a decision (`["phone","tier"]`, `2001`, `"example.org"`). */
const factText = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * A policy decision in words, one line each: the verdict with its deciding policies, the facts they read, and the
 * shadow (log-only) policies' verdict when any are loaded. Unescaped: each caller escapes for where it prints.
 */
export function policyInWords(
  p: Pick<PolicyDecision, 'decision' | 'policyIds' | 'explanation'> & Partial<PolicyDecision>,
): string[] {
  const lines = [`${p.decision} (${(p.policyIds ?? []).join(', ') || 'no policy matched'}) — ${p.explanation}`];
  const used = Object.entries(p.factsUsed ?? {});
  if (used.length) lines.push(`facts: ${used.map(([k, value]) => `${k} = ${factText(value)}`).join(', ')}`);
  if (p.shadow) {
    const would = p.shadow.decision === 'allow' ? `allow after ${p.shadow.approvalsRequired} approval(s)` : 'deny';
    lines.push(
      `shadow: would ${would} (${p.shadow.policyIds.join(', ') || 'no policy matched'})${p.shadow.differs ? ' — DIFFERS from the enforced decision' : ', as enforced'}`,
    );
  }
  return lines;
}
