// What a task needs to call its target: one way to call, classify failures, and configure SDK clients.
export { callTarget, classifyTargetError, named, type CallOptions, type TargetFailure } from './call-target';
export { requestJson, type JsonRequest } from './http';
export { awsClientConfig, readSecretsUnder } from './aws';
