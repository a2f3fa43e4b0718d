/** The module name and version the Python side names in `_model_module` / `_view_module`. */
export const MODULE_NAME = 'intershap-widget';
export const MODULE_VERSION = '0.1.0';
