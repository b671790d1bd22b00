/**
 * One network: TF tensor bundle + our ONNX graph as template -> the ONNX graph with the TF weights.
 * Every checks named in issue 8 happens here: each TF tensor is either skipped on purpose (with the
 * reason) or used exactly once; each initializer it fills exists, has the right shape after the
 * kernel transposition, and is filled exactly once; every weight initializer of the template is
 * filled; and, when the checkpoint's object graph is readable, its own account of each variable
 * (layer paths) must agree with our mapping.
 */
import { ImportError } from './errors.js'
import { describeArchitecture, expectedVariables, onnxNameFromGraphPath, skipReason, tfKernelShapeToOnnx, transposeKernel, type NetworkKind } from './flare21-mapping.js'
import { parseObjectGraph, variablesByCheckpointKey } from './object-graph.js'
import { listInitializers, OnnxTemplateError, replaceInitializers } from './onnx-initializers.js'
import { BundleReader, type TensorBundle } from './tensor-bundle.js'

export interface ConvertReport {
  network: NetworkKind
  /** TF tensors copied into initializers */
  mapped: number
  parameters: number
  skipped: { key: string; reason: string }[]
  /** mapped variables whose object-graph path agreed with the mapping (0 when the graph is not readable) */
  verifiedByObjectGraph: number
  objectGraph: 'verified' | 'absent' | 'unreadable'
  /** TF key -> ONNX initializer */
  mapping: { tfKey: string; onnxName: string; tfShape: number[]; onnxShape: number[] }[]
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i])

/** Check names and shapes only (no data needed): the plan of which tensor goes where. */
export function planMapping(kind: NetworkKind, bundle: TensorBundle, template: Uint8Array, templateFile: string): { plan: ConvertReport['mapping']; skipped: ConvertReport['skipped'] } {
  let inits
  try {
    inits = listInitializers(template)
  } catch (e) {
    if (e instanceof OnnxTemplateError) throw new ImportError('bad-template', templateFile, e.message)
    throw e
  }
  const initByName = new Map(inits.map((i) => [i.name, i]))
  const specs = expectedVariables(kind)
  const specByKey = new Map(specs.map((s) => [s.tfKey, s]))
  const file = bundle.indexFile
  const arch = describeArchitecture(kind)

  const skipped: ConvertReport['skipped'] = []
  const unknown: string[] = []
  for (const e of bundle.entries) {
    if (specByKey.has(e.name)) continue
    const why = skipReason(e.name)
    if (why) skipped.push({ key: e.name, reason: why })
    else unknown.push(e.name)
  }
  const present = specs.filter((s) => bundle.byName.has(s.tfKey))
  const missing = specs.filter((s) => !bundle.byName.has(s.tfKey))
  if (present.length < specs.length / 2) {
    const sample = unknown.slice(0, 3).map((k) => `"${k}"`).join(', ')
    throw new ImportError('wrong-architecture', file, `this checkpoint is not ${arch}: only ${present.length} of its ${specs.length} expected variables are there${sample ? ` (it has e.g. ${sample})` : ''}. Is it the other network's folder?`)
  }
  if (unknown.length) {
    throw new ImportError('unknown-variable', file, `${unknown.length} variable(s) do not belong to ${arch}: ${unknown.slice(0, 5).map((k) => `"${k}"`).join(', ')}${unknown.length > 5 ? ', ...' : ''}`)
  }
  if (missing.length) {
    throw new ImportError('missing-variable', file, `${missing.length} variable(s) of ${arch} are missing: ${missing.slice(0, 5).map((s) => `"${s.tfKey}" (${s.onnxName})`).join(', ')}${missing.length > 5 ? ', ...' : ''}`)
  }

  const plan: ConvertReport['mapping'] = []
  const mismatches: string[] = []
  const filled = new Set<string>()
  for (const s of specs) {
    const e = bundle.byName.get(s.tfKey)!
    const init = initByName.get(s.onnxName)
    if (!init) throw new ImportError('bad-template', templateFile, `the ONNX graph has no initializer "${s.onnxName}" (for ${s.tfKey}): it is not the SCN Studio FLARE21 graph (training/export_onnx.py)`)
    if (filled.has(s.onnxName)) throw new ImportError('bad-template', templateFile, `initializer "${s.onnxName}" would be filled twice`)
    filled.add(s.onnxName)
    const onnxShape = s.role === 'kernel' ? (e.shape.length === 5 ? tfKernelShapeToOnnx(e.shape) : e.shape) : e.shape
    if (e.dtypeName !== 'float32' && e.dtypeName !== 'float16' && e.dtypeName !== 'float64' && e.dtypeName !== 'bfloat16') {
      throw new ImportError('shape-mismatch', file, `"${s.tfKey}" is ${e.dtypeName}, not a floating-point weight`)
    }
    if ((s.role === 'kernel' && e.shape.length !== 5) || (s.role === 'bias' && e.shape.length !== 1) || !same(onnxShape, init.dims)) {
      mismatches.push(`"${s.tfKey}" [${e.shape.join(',')}] -> ${s.onnxName} [${init.dims.join(',')}]`)
      continue
    }
    plan.push({ tfKey: s.tfKey, onnxName: s.onnxName, tfShape: e.shape, onnxShape })
  }
  if (mismatches.length > specs.length / 2) {
    throw new ImportError('wrong-architecture', file, `this checkpoint is not ${arch}: ${mismatches.length} of ${specs.length} tensors have other shapes, e.g. ${mismatches.slice(0, 2).join('; ')}`)
  }
  if (mismatches.length) {
    throw new ImportError('shape-mismatch', file, `${mismatches.length} tensor shape(s) do not match our graph (TF [kd,kh,kw,in,out] vs ONNX [out,in,kd,kh,kw]): ${mismatches.slice(0, 4).join('; ')}`)
  }
  // every float weight of the template must be covered: a leftover would keep template weights
  const leftover = inits.filter((i) => i.dataType === 1 && i.dims.length >= 1 && /\.(weight|bias)$/.test(i.name) && !filled.has(i.name))
  if (leftover.length) {
    throw new ImportError('bad-template', templateFile, `the graph has weights that no TF variable fills: ${leftover.slice(0, 5).map((i) => i.name).join(', ')}`)
  }
  return { plan, skipped }
}

export interface ConvertOptions {
  verifyChecksums?: boolean
}

export function convertNetwork(kind: NetworkKind, bundle: TensorBundle, template: Uint8Array, templateFile: string, opts: ConvertOptions = {}): { onnx: Uint8Array; report: ConvertReport } {
  const { plan, skipped } = planMapping(kind, bundle, template, templateFile)
  const reader = new BundleReader(bundle, { verifyChecksums: opts.verifyChecksums })
  try {
    // The object graph says what each variable is; check our positional mapping against it.
    let objectGraph: ConvertReport['objectGraph'] = 'absent'
    let verified = 0
    if (bundle.byName.has('_CHECKPOINTABLE_OBJECT_GRAPH')) {
      let vars: ReturnType<typeof variablesByCheckpointKey> | null = null
      try {
        vars = variablesByCheckpointKey(parseObjectGraph(reader.strings('_CHECKPOINTABLE_OBJECT_GRAPH')[0]))
      } catch (e) {
        if (opts.verifyChecksums !== false) throw e
        objectGraph = 'unreadable' // a test's synthetic data file: no real object graph in it
      }
      if (vars) {
        for (const p of plan) {
          const v = vars.get(p.tfKey)
          if (!v) continue
          const names = new Set(v.paths.map((path) => onnxNameFromGraphPath(kind, path)).filter((n): n is string => n !== null))
          if (names.size === 0) continue
          // several paths lead to one variable (keras_api/..., the layer dicts); one must be ours
          if (!names.has(p.onnxName)) {
            throw new ImportError('wrong-architecture', bundle.indexFile, `the checkpoint's object graph says "${p.tfKey}" is ${[...names].join(' / ')} (${v.paths.find((x) => !x.includes('/variables/')) ?? v.paths[0]}), but the FLARE21 layout puts ${p.onnxName} there: this checkpoint was built by different code`)
          }
          verified++
        }
        objectGraph = verified > 0 ? 'verified' : 'unreadable'
      }
    }
    const values = new Map<string, Float32Array>()
    let parameters = 0
    for (const p of plan) {
      const raw = reader.float32(p.tfKey)
      const v = p.tfShape.length === 5 ? transposeKernel(raw, p.tfShape) : raw
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) throw new ImportError('corrupt', bundle.dataFile(bundle.byName.get(p.tfKey)!.shardId), `tensor "${p.tfKey}" holds a non-finite value (${v[i]}) at element ${i}`)
      }
      values.set(p.onnxName, v)
      parameters += v.length
    }
    let onnx: Uint8Array
    try {
      onnx = replaceInitializers(template, values)
    } catch (e) {
      if (e instanceof OnnxTemplateError) throw new ImportError('bad-template', templateFile, e.message)
      throw e
    }
    return { onnx, report: { network: kind, mapped: plan.length, parameters, skipped, verifiedByObjectGraph: verified, objectGraph, mapping: plan } }
  } finally {
    reader.close()
  }
}
