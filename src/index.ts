export * from './version';
export { InterSHAPModel, InterSHAPView } from './widget';
