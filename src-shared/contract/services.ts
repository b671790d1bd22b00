/**
 * The method and event table: one entry per service method, each with its request schema and its
 * response schema (or binary frame header schema). Hosts dispatch from this table, the client core
 * builds its proxies from it, and the TypeScript service interfaces are derived from it.
 */
import { z } from 'zod'
import * as S from './schemas.js'
import { labelPatchBytes } from './label-patch.js'
import type { CHANNEL_NAMES, EVENT_NAMES } from './channels.js'

/** JSON in, JSON out. */
export interface JsonMethod<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly kind: 'json'
  readonly input: I
  readonly output: O
}
/** JSON in, one binary frame out (header validated by `header`, payload of `dataType`). */
export interface BinaryOutMethod<I extends z.ZodType = z.ZodType, H extends z.ZodType = z.ZodType, D extends DataType = DataType> {
  readonly kind: 'binary-out'
  readonly input: I
  readonly header: H
  readonly dataType: D
}
/** One binary frame in (header validated by `header`), JSON out. */
export interface BinaryInMethod<H extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, D extends DataType = DataType> {
  readonly kind: 'binary-in'
  readonly header: H
  readonly dataType: D
  readonly output: O
  /** payload size the header implies, for frames whose header has no geometry (labels.patch) */
  readonly payloadBytes?: (header: z.infer<H>) => number
}
export type MethodDef = JsonMethod | BinaryOutMethod | BinaryInMethod

export type DataType = 'int16' | 'uint8'
export interface DataTypeArrays {
  int16: Int16Array
  uint8: Uint8Array
}

const json = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O): JsonMethod<I, O> => ({ kind: 'json', input, output })
const binaryOut = <I extends z.ZodType, H extends z.ZodType, D extends DataType>(input: I, header: H, dataType: D): BinaryOutMethod<I, H, D> => ({
  kind: 'binary-out',
  input,
  header,
  dataType,
})
const binaryIn = <H extends z.ZodType, O extends z.ZodType, D extends DataType>(
  header: H,
  dataType: D,
  output: O,
  payloadBytes?: (header: z.infer<H>) => number,
): BinaryInMethod<H, O, D> => ({
  kind: 'binary-in',
  header,
  dataType,
  output,
  ...(payloadBytes ? { payloadBytes } : {}),
})

/** Every service and method. Adding one here makes it appear in both hosts and the client. */
export const CONTRACT = {
  app: {
    info: json(S.Empty, S.AppInfoSchema),
  },
  files: {
    /** native open dialog (Electron); the web host answers `unsupported` */
    showOpenDialog: json(S.OpenDialogRequestSchema, S.OpenDialogResultSchema),
    /** native save dialog (Electron): the only way the desktop app may write outside the workspace and models folder */
    showSaveDialog: json(S.SaveDialogRequestSchema, S.SaveDialogResultSchema),
  },
  volumes: {
    open: json(S.OpenVolumeRequestSchema, S.OpenVolumeResultSchema),
    list: json(S.Empty, S.ListVolumesResultSchema),
    close: json(S.VolumeRefSchema, S.Empty),
    /** the CT voxels, once per volume: Int16 HU, x fastest */
    getVoxels: binaryOut(S.VolumeRefSchema, S.VoxelsHeaderSchema, 'int16'),
  },
  labels: {
    get: binaryOut(S.GetLabelmapRequestSchema, S.LabelmapHeaderSchema, 'uint8'),
    /** header.kind must be 'current'; header.version is the version the edit started from */
    put: binaryIn(S.LabelmapHeaderSchema, 'uint8', S.PutLabelmapResultSchema),
    /** the voxels changed since header.version (label-patch.ts), applied all or nothing; same answer and
     *  'stale' rule as put. Autosave sends these; a full put for the first save, after a failed save and after merging a stale one */
    patch: binaryIn(S.LabelPatchHeaderSchema, 'uint8', S.PutLabelmapResultSchema, (h) => labelPatchBytes(h.count)),
  },
  segmentation: {
    run: json(S.RunSegmentationRequestSchema, S.RunRefSchema),
    cancel: json(S.RunRefSchema, S.CancelResultSchema),
  },
  statistics: {
    compute: json(S.StatisticsRequestSchema, S.StatisticsResultSchema),
  },
  models: {
    list: json(S.Empty, S.ListModelsResultSchema),
  },
  cases: {
    list: json(S.Empty, S.ListCasesResultSchema),
    create: json(S.CreateCaseRequestSchema, S.CaseSummarySchema),
    open: json(S.CaseRefSchema, S.OpenCaseResultSchema),
    /** one case with its per-organ review; pending edits of the case are saved first */
    get: json(S.CaseRefSchema, S.CaseSummarySchema),
    setStatus: json(S.SetCaseStatusRequestSchema, S.CaseSummarySchema),
    review: json(S.ReviewRequestSchema, S.CaseSummarySchema),
  },
  /** the workspace label table: every case and export of the workspace uses it (app.info's `labels`
   *  are its non-retired rows). Each method answers the whole table; changes also go out as
   *  labelTable.onChanged. Rule breaks (a name in use, a full table) answer 'bad-request' naming the
   *  problem; an unknown value 'not-found' */
  labelTable: {
    /** every row (retired ones too) and the presets */
    get: json(S.Empty, S.LabelTableViewSchema),
    /** a team class with the next free value, from a name, a preset or both */
    add: json(S.AddLabelRequestSchema, S.AddLabelResultSchema),
    /** rename and/or recolour; the value never changes */
    update: json(S.UpdateLabelRequestSchema, S.LabelTableViewSchema),
    /** leaves the palette; the value stays reserved, labelled voxels keep their meaning */
    retire: json(S.RetireLabelRequestSchema, S.LabelTableViewSchema),
  },
  export: {
    run: json(S.ExportRequestSchema, S.ExportResultSchema),
    workspace: json(S.ExportWorkspaceRequestSchema, S.ExportWorkspaceResultSchema),
  },
  pacs: {
    servers: json(S.Empty, S.PacsServersResultSchema),
    search: json(S.PacsSearchRequestSchema, S.PacsSearchResultSchema),
    series: json(S.PacsSeriesRequestSchema, S.PacsSeriesResultSchema),
    /** answers when the series is whole in the cache (or fails, keeping nothing); progress as pacs.onRetrieveProgress */
    retrieve: json(S.PacsRetrieveRequestSchema, S.PacsRetrieveResultSchema),
    cancel: json(S.PacsCancelRequestSchema, S.PacsCancelResultSchema),
    sendSeg: json(S.VolumeRefSchema, S.PacsSendSegResultSchema),
    /** the series kept in the host's cache, newest first; reads local files only (works offline) */
    cached: json(S.Empty, S.PacsCachedResultSchema),
    /** a cached series made readable without contacting its server -> {path}: open it with volumes.open */
    openCached: json(S.PacsOpenCachedRequestSchema, S.PacsRetrieveResultSchema),
  },
} as const satisfies Record<string, Record<string, MethodDef>>

/** Events main -> renderer, named `<service>.on<Name>` like VS Code's `onDidX`. */
export const EVENTS = {
  'segmentation.onProgress': S.ProgressEventSchema,
  'segmentation.onFinished': S.RunFinishedEventSchema,
  'app.onOpenRequest': S.OpenRequestEventSchema,
  'cases.onSaveStatus': S.SaveStatusEventSchema,
  'pacs.onRetrieveProgress': S.PacsRetrieveProgressEventSchema,
  /** the label table changed (this page or another one, on this host): the new table */
  'labelTable.onChanged': S.LabelTableViewSchema,
} as const satisfies Record<string, z.ZodType>

export type Contract = typeof CONTRACT
export type ServiceName = keyof Contract
export type MethodName<S extends ServiceName> = keyof Contract[S] & string
export type EventName = keyof typeof EVENTS
export type EventPayload<E extends EventName> = z.infer<(typeof EVENTS)[E]>

/** A decoded binary frame: validated JSON header + typed voxel array (aligned view, no copy). */
export interface Frame<H, D extends DataType = DataType> {
  header: H
  data: DataTypeArrays[D]
}

/** What callers pass (zod input: defaults optional) and get (zod output). */
type CallSignature<M> =
  M extends JsonMethod<infer I, infer O>
    ? (request: z.input<I>) => Promise<z.infer<O>>
    : M extends BinaryOutMethod<infer I, infer H, infer D>
      ? (request: z.input<I>) => Promise<Frame<z.infer<H>, D>>
      : M extends BinaryInMethod<infer H, infer O, infer D>
        ? (frame: Frame<z.input<H>, D>) => Promise<z.infer<O>>
        : never

/** The callable shape of one service, e.g. `ServiceApi<'volumes'>['open']`. */
export type ServiceApi<S extends ServiceName> = { [M in MethodName<S>]: CallSignature<Contract[S][M]> }

/** Implementations (src-main/services) receive parsed requests (defaults applied). */
type ImplSignature<M> =
  M extends JsonMethod<infer I, infer O>
    ? (request: z.infer<I>) => Promise<z.input<O>>
    : M extends BinaryOutMethod<infer I, infer H, infer D>
      ? (request: z.infer<I>) => Promise<Frame<z.input<H>, D>>
      : M extends BinaryInMethod<infer H, infer O, infer D>
        ? (frame: Frame<z.infer<H>, D>) => Promise<z.input<O>>
        : never
export type ServiceImpl<S extends ServiceName> = { [M in MethodName<S>]: ImplSignature<Contract[S][M]> }
export type ServicesImpl = { [S in ServiceName]: ServiceImpl<S> }

// One named interface per capability (VS Code style); all derived from the table above.
export type IAppService = ServiceApi<'app'>
export type IFilesService = ServiceApi<'files'>
export type IVolumeService = ServiceApi<'volumes'>
export type ILabelService = ServiceApi<'labels'>
export type ISegmentationService = ServiceApi<'segmentation'>
export type IStatisticsService = ServiceApi<'statistics'>
export type IModelService = ServiceApi<'models'>
export type ICaseService = ServiceApi<'cases'>
export type ILabelTableService = ServiceApi<'labelTable'>
export type IExportService = ServiceApi<'export'>
export type IPacsService = ServiceApi<'pacs'>

/** Channel name of a method on both wires: `volumes.open`. */
export type ChannelName = { [S in ServiceName]: `${S}.${MethodName<S>}` }[ServiceName]

export function channelsOf(): ChannelName[] {
  const out: string[] = []
  for (const [s, methods] of Object.entries(CONTRACT)) for (const m of Object.keys(methods)) out.push(`${s}.${m}`)
  return out as ChannelName[]
}

export function lookupMethod(channel: string): { service: ServiceName; method: string; def: MethodDef } | undefined {
  const dot = channel.indexOf('.')
  if (dot < 0) return undefined
  const service = channel.slice(0, dot)
  const method = channel.slice(dot + 1)
  if (!Object.hasOwn(CONTRACT, service)) return undefined
  const methods = CONTRACT[service as ServiceName] as Record<string, MethodDef>
  if (!Object.hasOwn(methods, method)) return undefined
  return { service: service as ServiceName, method, def: methods[method] }
}

// Compile-time proof that channels.ts (used by the preload, which cannot bundle zod cheaply) names
// exactly the contract's channels and events: adding a method without listing it fails the typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const channelListMatches: Same<ChannelName, (typeof CHANNEL_NAMES)[number]> = true
const eventListMatches: Same<EventName, (typeof EVENT_NAMES)[number]> = true
void channelListMatches
void eventListMatches
