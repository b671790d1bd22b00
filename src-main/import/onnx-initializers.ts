/**
 * Read and replace the initializers (weights) of an ONNX model without a schema: ModelProto
 * field 7 is the graph, GraphProto field 5 the initializers (TensorProto: dims 1, data_type 2,
 * float_data 4, name 8, raw_data 9, external_data 13). We walk the wire format and re-emit every
 * field we do not replace byte for byte, so nothing the exporter wrote (opset imports, metadata,
 * fields newer than our reading of the schema) is lost. Replaced tensors get their values as
 * raw_data (little-endian float32), which is what exporters write and ONNX Runtime reads fastest.
 */
import { bytesField, concatBytes, readFields, readPackedVarints, utf8, WIRE, WireError, type WireField } from './proto-wire.js'

const MODEL_GRAPH = 7
const GRAPH_INITIALIZER = 5
const T_DIMS = 1
const T_DATA_TYPE = 2
const T_FLOAT_DATA = 4
const T_NAME = 8
const T_RAW_DATA = 9
const T_EXTERNAL_DATA = 13
const ONNX_FLOAT = 1

export interface OnnxInitializer {
  name: string
  dims: number[]
  dataType: number
  external: boolean
}

export class OnnxTemplateError extends Error {}

function graphField(model: Uint8Array): WireField {
  let fields: WireField[]
  try {
    fields = readFields(model)
  } catch (e) {
    throw new OnnxTemplateError(`not an ONNX model (${(e as Error).message})`)
  }
  const g = fields.filter((f) => f.field === MODEL_GRAPH && f.wireType === WIRE.bytes)
  if (g.length !== 1) throw new OnnxTemplateError(`not an ONNX model (${g.length} graphs)`)
  return g[0]
}

function describeTensor(t: Uint8Array): OnnxInitializer {
  const out: OnnxInitializer = { name: '', dims: [], dataType: 0, external: false }
  for (const f of readFields(t)) {
    if (f.field === T_DIMS) {
      if (f.wireType === WIRE.bytes) out.dims.push(...readPackedVarints(f.bytes))
      else out.dims.push(f.num)
    } else if (f.field === T_DATA_TYPE) out.dataType = f.num
    else if (f.field === T_NAME) out.name = utf8.decode(f.bytes)
    else if (f.field === T_EXTERNAL_DATA) out.external = true
  }
  return out
}

/** Names, shapes and types of a model's initializers, in file order. */
export function listInitializers(model: Uint8Array): OnnxInitializer[] {
  const g = graphField(model)
  try {
    return readFields(g.bytes)
      .filter((f) => f.field === GRAPH_INITIALIZER && f.wireType === WIRE.bytes)
      .map((f) => describeTensor(f.bytes))
  } catch (e) {
    if (e instanceof WireError) throw new OnnxTemplateError(`the graph is malformed (${e.message})`)
    throw e
  }
}

/** One initializer's float32 values (inline raw_data or float_data). */
export function readInitializer(model: Uint8Array, name: string): Float32Array {
  const g = graphField(model)
  for (const f of readFields(g.bytes)) {
    if (f.field !== GRAPH_INITIALIZER || f.wireType !== WIRE.bytes) continue
    const fields = readFields(f.bytes)
    const n = fields.find((x) => x.field === T_NAME)
    if (!n || utf8.decode(n.bytes) !== name) continue
    const raw = fields.find((x) => x.field === T_RAW_DATA)
    if (raw) return new Float32Array(raw.bytes.buffer.slice(raw.bytes.byteOffset, raw.bytes.byteOffset + raw.bytes.byteLength))
    const fd = fields.filter((x) => x.field === T_FLOAT_DATA)
    const parts = fd.map((x) => (x.wireType === WIRE.bytes ? x.bytes : new Uint8Array(new Uint32Array([x.num]).buffer)))
    const all = concatBytes(parts)
    return new Float32Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength))
  }
  throw new OnnxTemplateError(`no initializer named "${name}"`)
}

function replaceTensor(t: Uint8Array, values: Float32Array): Uint8Array {
  const parts: Uint8Array[] = []
  let placed = false
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  for (const f of readFields(t)) {
    if (f.field === T_FLOAT_DATA || f.field === T_RAW_DATA) {
      if (!placed) parts.push(bytesField(T_RAW_DATA, raw))
      placed = true
    } else parts.push(f.raw)
  }
  if (!placed) parts.push(bytesField(T_RAW_DATA, raw))
  return concatBytes(parts)
}

/**
 * A copy of `model` with the named initializers' values replaced. Every name must exist, be
 * float32, inline (not external data) and have as many elements as the new values.
 */
export function replaceInitializers(model: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const g = graphField(model)
  const done = new Set<string>()
  const graphParts: Uint8Array[] = []
  for (const f of readFields(g.bytes)) {
    if (f.field !== GRAPH_INITIALIZER || f.wireType !== WIRE.bytes) {
      graphParts.push(f.raw)
      continue
    }
    const info = describeTensor(f.bytes)
    const v = values.get(info.name)
    if (!v) {
      graphParts.push(f.raw)
      continue
    }
    if (info.external) throw new OnnxTemplateError(`initializer "${info.name}" is stored as external data; the template must hold its weights inline`)
    if (info.dataType !== ONNX_FLOAT) throw new OnnxTemplateError(`initializer "${info.name}" has ONNX data type ${info.dataType}, not float32`)
    const n = info.dims.reduce((a, b) => a * b, 1)
    if (n !== v.length) throw new OnnxTemplateError(`initializer "${info.name}" has ${n} elements, the new values ${v.length}`)
    if (done.has(info.name)) throw new OnnxTemplateError(`initializer "${info.name}" appears twice`)
    done.add(info.name)
    graphParts.push(bytesField(GRAPH_INITIALIZER, replaceTensor(f.bytes, v)))
  }
  const missing = [...values.keys()].filter((k) => !done.has(k))
  if (missing.length) throw new OnnxTemplateError(`the template has no initializer named ${missing.slice(0, 5).map((m) => `"${m}"`).join(', ')}`)
  const graph = concatBytes(graphParts)
  const modelParts: Uint8Array[] = []
  for (const f of readFields(model)) modelParts.push(f === g || (f.field === MODEL_GRAPH && f.wireType === WIRE.bytes) ? bytesField(MODEL_GRAPH, graph) : f.raw)
  return concatBytes(modelParts)
}
