/**
 * A full garbage collection where the runtime allows it. Large ArrayBuffers that were dropped (a
 * file's bytes after decoding, a CT copy after use) are otherwise freed only at V8's next major GC,
 * which a thread blocked in ONNX Runtime never reaches: collecting before a native run keeps them
 * out of the peak. `--expose-gc` is switched on at run time; if the runtime refuses, this is a no-op.
 */
import v8 from 'node:v8'
import vm from 'node:vm'

let gcFn: (() => void) | null | undefined

export function collectGarbage(): void {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc')
      gcFn = vm.runInNewContext('gc') as () => void
    } catch {
      gcFn = null
    }
  }
  gcFn?.()
}
