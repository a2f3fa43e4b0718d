/**
 * The InterSHAP math core: pure TypeScript, no DOM, Jupyter or Node dependency, so it runs in the
 * browser, in a web worker and in Node alike. SPEC.md defines every number computed here.
 */
export { decomposeAll, decomposeInto } from './decompose';
export { allocatePerSample } from './perSample';
export type { PerSample } from './perSample';
export { allocateTables, usesSimd } from './tables';
export type { Tables } from './tables';
export { aggregate, aggregateWithOrderSize, matrixShares } from './aggregate';
export { aggregateOfSums, allocateSums, meanAbsoluteOrderMass } from './sums';
export type { Aggregate, Subset } from './aggregate';
export { bootstrapGlobal, quantile } from './bootstrap';
export type { BootstrapInterval, BootstrapOptions } from './bootstrap';
export { localDeltas, pairedBootstrap, PairedBootstrapResampler, pairedDelta } from './compare';
export type { PairedBounds, PairedDelta } from './compare';
export { sii, kSii, bernoulliNumbers } from './interactions';
export { propagateStandardErrors } from './uncertainty';
export type { StandardErrors } from './uncertainty';
export { mobiusInPlace, zetaInPlace } from './mobius';
export { popcount } from './coalitions';
export { mulberry32 } from './random';
export { MIN_MODALITIES, MAX_MODALITIES } from './validate';
