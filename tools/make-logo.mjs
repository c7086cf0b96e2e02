// Renders the kernelspec logos (kernel/jupyter/logo/logo-{32x32,64x64}.png) and the extension icon
// (extension/images/icon.png, 128x128) from logo-svg.svg; run after editing it:
//   node tools/make-logo.mjs
import sharp from 'sharp';

const dir = new URL('../kernel/jupyter/logo/', import.meta.url).pathname;
for (const size of [32, 64]) {
  await sharp(`${dir}logo-svg.svg`, { density: 72 * (size / 64) * 4 })
    .resize(size, size)
    .png({ compressionLevel: 9 })
    .toFile(`${dir}logo-${size}x${size}.png`);
}
// the extension's Marketplace icon (package.json "icon")
const icon = new URL('../extension/images/icon.png', import.meta.url).pathname;
await sharp(`${dir}logo-svg.svg`, { density: 72 * 2 * 4 })
  .resize(128, 128)
  .png({ compressionLevel: 9 })
  .toFile(icon);
console.log(`wrote ${dir}logo-32x32.png, logo-64x64.png and ${icon}`);
