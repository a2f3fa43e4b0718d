/** Font files bundled by the lab extension's webpack build as static assets: the import is a URL. */
declare module '*.ttf' {
  const url: string;
  export default url;
}
