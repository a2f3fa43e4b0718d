/**
 * The shipped font (DejaVu Sans, from the dejavu-fonts-ttf package), bundled by the lab
 * extension's build as a static asset and fetched from the Jupyter server only when a figure is
 * exported: no CDN, and nothing loaded for users who never export.
 */
import regularUrl from 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf';
import boldUrl from 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf';

export interface FontFiles {
  regular: string;
  bold: string;
}

let loading: Promise<FontFiles> | null = null;

/** The regular and bold faces as base64, fetched once. */
export function loadFont(): Promise<FontFiles> {
  loading ??= Promise.all([fetchBase64(regularUrl), fetchBase64(boldUrl)]).then(
    ([regular, bold]) => ({ regular, bold })
  );
  loading.catch(() => (loading = null));
  return loading;
}

async function fetchBase64(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`export: the shipped font could not be loaded (${response.status} for ${url})`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  let binary = '';
  const step = 0x8000;
  for (let k = 0; k < bytes.length; k += step) {
    binary += String.fromCharCode(...bytes.subarray(k, k + step));
  }
  return btoa(binary);
}
