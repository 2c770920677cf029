/**
 * The one protocol shared by the backend (server/), the VS Code client (extension/) and the webview
 * (webview/). Every method name and payload shape is written once, in the module for its concern.
 * These modules stay free of Node and VS Code imports so that all three parts can bundle them.
 */

export * from './names';
export * from './experiment';
export * from './architecture';
export * from './requests';
export * from './requestValidation';
export * from './events';
export * from './capabilities';
export * from './webview';
export * from './runId';
export * from './webviewValidation';
export * from './download';
