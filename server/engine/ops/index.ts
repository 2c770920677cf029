/**
 * Every op: loading this module registers all of them (the defineOp blocks in the modules below)
 * and gives the graph builders. Engine modules that build graphs import from here, so a builder is
 * never called before its op is registered.
 */
import './elementwise';
import './logic';
import './reduce';
import './shape';
import './matmul';
import './nn';

export * from './builders';
export { onnxDataType } from './logic';
export { CONV_DW_LIMITS, CONV_TAP_SUM } from './nn';
