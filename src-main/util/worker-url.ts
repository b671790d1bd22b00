/**
 * Where a worker thread's script is. Beside the module that starts it, except in the packaged app:
 * there that module sits inside app.asar, and a worker thread cannot be relied on to load modules
 * from the archive (electron/electron#22446: Electron's asar support is the main thread's). So the
 * workers are bundled with everything they import but ONNX Runtime's native package, unpacked to
 * app.asar.unpacked (electron-builder.yml asarUnpack), and started from there.
 */

const IN_ASAR = /\/app\.asar\//

/** `name` resolved against `base` (an import.meta.url), moved out of app.asar when it is inside it. */
export function workerScriptUrl(name: string, base: string | URL): URL {
  const url = new URL(name, base)
  if (url.protocol === 'file:' && IN_ASAR.test(url.pathname)) url.pathname = url.pathname.replace(IN_ASAR, '/app.asar.unpacked/')
  return url
}
