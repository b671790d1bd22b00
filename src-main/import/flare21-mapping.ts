/**
 * Which TensorFlow variable of the FLARE21 EfficientSCN SavedModels is which initializer of our
 * ONNX graphs (training/scn/networks.py; names in training/README.md).
 *
 * The SavedModels key their variables by position ("model/variables/7/.ATTRIBUTES/VARIABLE_VALUE")
 * in Keras' `Model.variables` order, not by layer name. That order is fixed by the authors' code
 * (UnetBase.init_layers fills the dicts contracting_layers/expanding_layers; Keras lists a dict's
 * layers sorted by key and a list's in order): for each U-Net, the contracting blocks level 0..L-1,
 * then the expanding blocks level 0..L-1 (the deepest level has one too), each block conv0 then
 * conv1, each conv kernel then bias; then the 1x1x1 prediction conv. The localization checkpoint's
 * own object graph confirms this order for every one of its 42 variables (object-graph.ts; see
 * import-flare21.ts, which re-checks it on every import when the data file is present), and the
 * segmentation index's shapes confirm the rest (e.g. the 64-channel expanding inputs, and the
 * 5-input U-Net at spatial_configuration/variables/136.., the one that predicts the background).
 *
 * Spatial configuration: `unets` is a list of five Sequential([UnetAvgLinear3D(F=16, 4 levels),
 * Conv3D(1)]); output channel c comes from unets[c - 1] (TF: self.unets[i - (not input_background)]),
 * so unets[4] makes channel 0 (background) from [image, all 4 organs] and unets[k] (k 0..3) makes
 * organ k+1 from [image, the other organs in label order]. Our graph names the U-Nets by the same
 * list index k, and builds the same inputs in the same channel order, so U-Net k maps to U-Net k.
 */

export type NetworkKind = 'localization' | 'segmentation'

export interface VariableSpec {
  /** key in variables.index */
  tfKey: string
  /** initializer name in our ONNX graph */
  onnxName: string
  role: 'kernel' | 'bias'
}

const ATTR = '/.ATTRIBUTES/VARIABLE_VALUE'

/** ONNX names of a U-Net's parameters in TF variable order. */
export function unetOrder(prefix: string, levels: number): { onnxName: string; role: 'kernel' | 'bias' }[] {
  const out: { onnxName: string; role: 'kernel' | 'bias' }[] = []
  for (const block of ['contracting', 'expanding'])
    for (let level = 0; level < levels; level++)
      for (let conv = 0; conv < 2; conv++)
        for (const role of ['kernel', 'bias'] as const) out.push({ onnxName: `${prefix}unet.${block}.level${level}.conv${conv}.${role === 'kernel' ? 'weight' : 'bias'}`, role })
  return out
}

function pred(prefix: string): { onnxName: string; role: 'kernel' | 'bias' }[] {
  return [
    { onnxName: `${prefix}prediction.weight`, role: 'kernel' },
    { onnxName: `${prefix}prediction.bias`, role: 'bias' },
  ]
}

export const LOCALIZATION_LEVELS = 5
export const LOCAL_APPEARANCE_LEVELS = 5
export const SPATIAL_LEVELS = 4
export const SPATIAL_UNETS = 5

export function expectedVariables(kind: NetworkKind): VariableSpec[] {
  if (kind === 'localization') {
    return [...unetOrder('', LOCALIZATION_LEVELS), ...pred('')].map((v, i) => ({ ...v, tfKey: `model/variables/${i}${ATTR}` }))
  }
  const local = unetOrder('local_appearance.', LOCAL_APPEARANCE_LEVELS).map((v, i) => ({ ...v, tfKey: `local_appearance/variables/${i}${ATTR}` }))
  const localPred = [
    { onnxName: 'local_appearance.prediction.weight', role: 'kernel' as const, tfKey: `local_appearance/prediction/kernel${ATTR}` },
    { onnxName: 'local_appearance.prediction.bias', role: 'bias' as const, tfKey: `local_appearance/prediction/bias${ATTR}` },
  ]
  const spatial: VariableSpec[] = []
  for (let k = 0; k < SPATIAL_UNETS; k++) {
    const p = `spatial_configuration.unets.${k}.`
    for (const v of [...unetOrder(p, SPATIAL_LEVELS), ...pred(p)]) spatial.push({ ...v, tfKey: `spatial_configuration/variables/${spatial.length}${ATTR}` })
  }
  return [...local, ...localPred, ...spatial]
}

/**
 * Tensors that are in a checkpoint but are not weights of the network, skipped on purpose:
 * the object graph (metadata; we read it to check the mapping), optimizer state (Adam slots,
 * iteration count, loss scale), the save counter, and EMA shadow copies. The authors' SavedModels
 * hold none of the last three (checked on both indexes): their save_model() writes the EMA
 * averages into the model variables before saving, so the variables *are* the EMA weights, which
 * is what the published results used.
 */
export function skipReason(key: string): string | null {
  if (key === '_CHECKPOINTABLE_OBJECT_GRAPH') return 'checkpoint object graph (metadata, used to verify the mapping)'
  if (key.includes('/.OPTIMIZER_SLOT/')) return 'optimizer slot variable (training state)'
  if (/^(optimizer|save_counter)(\/|$)/.test(key) || /(^|\/)(iter|iterations|learning_rate|loss_scale|current_loss_scale|good_steps|beta_[12]|decay)\/\.ATTRIBUTES/.test(key)) {
    return 'optimizer or checkpoint bookkeeping (training state)'
  }
  if (/ExponentialMovingAverage|(^|\/)ema(\/|$)/i.test(key)) return 'EMA shadow copy (the variables already hold the EMA weights)'
  return null
}

/** Our ONNX name of a TF variable from one of its object-graph paths, or null if not a weight path. */
export function onnxNameFromGraphPath(kind: NetworkKind, path: string): string | null {
  const role = /\/(kernel|bias)$/.exec(path)?.[1]
  if (!role) return null
  const suffix = role === 'kernel' ? 'weight' : 'bias'
  let prefix = ''
  if (kind === 'segmentation') {
    const k = /(?:^|\/)spatial_configuration\/unets\/(\d+)\//.exec(path)
    if (k) prefix = `spatial_configuration.unets.${k[1]}.`
    else if (/(?:^|\/)local_appearance\//.test(path)) prefix = 'local_appearance.'
    else return null
  }
  const block = /(contracting|expanding)_layers\/level(\d+)\/layers\/(\d+)\/(kernel|bias)$/.exec(path)
  // Sequential layers: conv0, [dropout], conv1, [dropout]: the first conv is layer 0, the second
  // is layer 2 with dropout (the authors' networks) or 1 without.
  if (block) return `${prefix}unet.${block[1]}.level${block[2]}.conv${block[3] === '0' ? 0 : 1}.${suffix}`
  if (kind === 'segmentation' && prefix.startsWith('spatial') && /unets\/\d+\/layers\/1\/(kernel|bias)$/.test(path)) return `${prefix}prediction.${suffix}`
  if (/(?:^|\/)prediction\/(?:layers\/0\/)?(kernel|bias)$/.test(path)) return `${prefix}prediction.${suffix}`
  return null
}

/** TF Conv3D kernel [kd, kh, kw, in, out] -> ONNX Conv weight [out, in, kd, kh, kw]. */
export function transposeKernel(src: Float32Array, shape: readonly number[]): Float32Array {
  const [kd, kh, kw, ci, co] = shape
  const out = new Float32Array(src.length)
  const spatial = kd * kh * kw
  for (let s = 0; s < spatial; s++)
    for (let i = 0; i < ci; i++) {
      const srcBase = (s * ci + i) * co
      for (let o = 0; o < co; o++) out[(o * ci + i) * spatial + s] = src[srcBase + o]
    }
  return out
}

export function tfKernelShapeToOnnx(shape: readonly number[]): number[] {
  const [kd, kh, kw, ci, co] = shape
  return [co, ci, kd, kh, kw]
}

/** Description used in error messages. */
export function describeArchitecture(kind: NetworkKind): string {
  return kind === 'localization'
    ? 'the FLARE21 localization U-Net (5 levels, 32 filters, 2 output classes: 42 weight tensors)'
    : 'the FLARE21 SpatialConfiguration-Net (local appearance U-Net 5 levels x 32 filters -> 5 channels; five spatial U-Nets 4 levels x 16 filters: 212 weight tensors)'
}
