/** Growth and pruning methods: importing this module registers every method. */
export { growthMethod, growthMethods, registerMethod } from './registry';
export { runGrowStep } from './step';
export { growContext, sampleBatch } from './context';
export type { GrowthMethod, GrowContext, GrowOptions, GrowPlanResult, Candidate } from './types';
export { GrowthError } from './types';
// method modules (each registers itself)
import './gaussNewton';
import './prune';
import './splitting';
import './net2net';
import './firefly';
import './fireflyDeeper';
import './randSearch';
import './nash';
