/**
 * The checkpoint's object graph (tensor "_CHECKPOINTABLE_OBJECT_GRAPH", a TrackableObjectGraph
 * proto): nodes with named children and attributes {name 1, full_name 2, checkpoint_key 3}. In a
 * SavedModel the tensors are keyed by the first path found ("model/variables/7/..."); the graph
 * also holds every other path to the same variable and its TensorFlow name (full_name, e.g.
 * "unet/contracting1/conv0/kernel"), which is how we check our mapping against the checkpoint's
 * own account of what each tensor is. Slot variables (optimizer state) are listed per node.
 */
import { readFields, utf8, WIRE } from './proto-wire.js'

export interface GraphNode {
  children: { nodeId: number; localName: string }[]
  attributes: { name: string; fullName: string; checkpointKey: string }[]
  slotVariables: { originalNodeId: number; slotName: string; slotNodeId: number }[]
}

export function parseObjectGraph(bytes: Uint8Array): GraphNode[] {
  const nodes: GraphNode[] = []
  for (const n of readFields(bytes)) {
    if (n.field !== 1 || n.wireType !== WIRE.bytes) continue
    const node: GraphNode = { children: [], attributes: [], slotVariables: [] }
    for (const f of readFields(n.bytes)) {
      if (f.wireType !== WIRE.bytes) continue
      const sub = readFields(f.bytes)
      const str = (k: number) => utf8.decode(sub.find((s) => s.field === k && s.wireType === WIRE.bytes)?.bytes ?? new Uint8Array())
      const num = (k: number) => sub.find((s) => s.field === k && s.wireType === WIRE.varint)?.num ?? 0
      if (f.field === 1) node.children.push({ nodeId: num(1), localName: str(2) })
      else if (f.field === 2) node.attributes.push({ name: str(1), fullName: str(2), checkpointKey: str(3) })
      else if (f.field === 3) node.slotVariables.push({ originalNodeId: num(1), slotName: str(2), slotNodeId: num(3) })
    }
    nodes.push(node)
  }
  return nodes
}

/** Every path (child names joined by "/") from the root to each node, breadth-first. */
export function nodePaths(nodes: GraphNode[]): string[][] {
  const paths: string[][] = nodes.map(() => [])
  const queue: [number, string][] = [[0, '']]
  const seen = new Set<string>()
  while (queue.length) {
    const [id, path] = queue.shift()!
    if (seen.has(`${id} ${path}`) || path.split('/').length > 32) continue
    seen.add(`${id} ${path}`)
    if (path) paths[id].push(path)
    for (const c of nodes[id]?.children ?? []) queue.push([c.nodeId, path ? `${path}/${c.localName}` : c.localName])
  }
  return paths
}

/** checkpoint key -> { fullName, all paths } for every variable attribute in the graph. */
export function variablesByCheckpointKey(nodes: GraphNode[]): Map<string, { fullName: string; paths: string[] }> {
  const paths = nodePaths(nodes)
  const out = new Map<string, { fullName: string; paths: string[] }>()
  nodes.forEach((n, id) => {
    for (const a of n.attributes) if (a.checkpointKey) out.set(a.checkpointKey, { fullName: a.fullName, paths: paths[id] })
  })
  return out
}
