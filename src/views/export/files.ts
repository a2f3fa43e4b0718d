/**
 * An exported SVG document as the bytes of a file: SVG as written, PDF through svg2pdf.js and
 * jsPDF (vector, with the shipped font embedded so the text layer is real and portable), PNG by
 * the browser drawing the SVG onto a canvas at the requested resolution. The PDF and font code
 * loads only when a PDF or PNG is first asked for.
 */
import { EXPORT_FONT_FAMILY, pixelSize } from './style';
import type { ExportFormat } from './style';

export const MIME_TYPES: Record<ExportFormat, string> = {
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  png: 'image/png'
};

export async function encodeFigure(
  svg: SVGSVGElement,
  format: ExportFormat,
  dpi: number
): Promise<Uint8Array> {
  if (format === 'svg') {
    return new TextEncoder().encode(serializeSvg(svg));
  }
  return format === 'pdf' ? pdfBytes(svg) : pngBytes(svg, dpi);
}

export function serializeSvg(svg: SVGSVGElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}`;
}

/** The page size in millimetres, read back from the root's width and height ("88mm"). */
export function pageSizeMm(svg: SVGSVGElement): { width: number; height: number } {
  return {
    width: parseFloat(svg.getAttribute('width') ?? '0'),
    height: parseFloat(svg.getAttribute('height') ?? '0')
  };
}

async function pdfBytes(svg: SVGSVGElement): Promise<Uint8Array> {
  const [{ jsPDF }, , { loadFont }] = await Promise.all([
    import('jspdf'),
    import('svg2pdf.js'),
    import('./font')
  ]);
  const font = await loadFont();
  const { width, height } = pageSizeMm(svg);
  const doc = new jsPDF({
    unit: 'mm',
    format: [width, height],
    orientation: width > height ? 'landscape' : 'portrait',
    compress: true
  });
  doc.addFileToVFS('DejaVuSans.ttf', font.regular);
  doc.addFileToVFS('DejaVuSans-Bold.ttf', font.bold);
  doc.addFont('DejaVuSans.ttf', EXPORT_FONT_FAMILY, 'normal');
  doc.addFont('DejaVuSans-Bold.ttf', EXPORT_FONT_FAMILY, 'bold');
  doc.setFont(EXPORT_FONT_FAMILY, 'normal');
  // svg2pdf reads computed styles, so the SVG must be in the document while it is converted.
  const host = offscreenHost();
  const copy = svg.cloneNode(true) as SVGSVGElement;
  // Every text to the embedded font, whatever fallback list plotly wrote.
  for (const node of copy.querySelectorAll<SVGElement>('text, tspan')) {
    node.style.fontFamily = EXPORT_FONT_FAMILY;
  }
  host.append(copy);
  try {
    await doc.svg(copy, { x: 0, y: 0, width, height });
  } finally {
    host.remove();
  }
  return new Uint8Array(doc.output('arraybuffer'));
}

async function pngBytes(svg: SVGSVGElement, dpi: number): Promise<Uint8Array> {
  const { loadFont } = await import('./font');
  const font = await loadFont();
  const { width, height } = pageSizeMm(svg);
  const canvas = document.createElement('canvas');
  canvas.width = pixelSize(width, dpi);
  canvas.height = pixelSize(height, dpi);
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('width', String(canvas.width));
  copy.setAttribute('height', String(canvas.height));
  // An SVG drawn as an image cannot reach the page's fonts: the font travels inside it.
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = [
    `@font-face { font-family: '${EXPORT_FONT_FAMILY}'; font-weight: normal; src: url(data:font/ttf;base64,${font.regular}); }`,
    `@font-face { font-family: '${EXPORT_FONT_FAMILY}'; font-weight: bold; src: url(data:font/ttf;base64,${font.bold}); }`
  ].join('\n');
  copy.insertBefore(style, copy.firstChild);
  const url = URL.createObjectURL(new Blob([serializeSvg(copy)], { type: MIME_TYPES.svg }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const context = canvas.getContext('2d');
    if (!context) {
      throw new Error('export: this browser gave no 2D canvas to draw the PNG on');
    }
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
  } finally {
    URL.revokeObjectURL(url);
  }
  const blob = await new Promise<Blob | null>(resolve => canvas.toBlob(resolve, MIME_TYPES.png));
  if (!blob) {
    throw new Error(
      `export: the browser could not encode a ${canvas.width} × ${canvas.height} PNG; try a lower dpi`
    );
  }
  return new Uint8Array(await blob.arrayBuffer());
}

function offscreenHost(): HTMLElement {
  const host = document.createElement('div');
  Object.assign(host.style, { position: 'fixed', left: '-100000px', top: '0', opacity: '0' });
  document.body.append(host);
  return host;
}
