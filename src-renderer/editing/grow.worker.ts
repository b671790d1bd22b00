/**
 * Grow from seeds off the UI thread: a thin wrapper around `growFromSeeds` (grow-from-seeds.ts has the
 * algorithm and the protocol). The request's box-sized arrays arrive transferred; the labels go back
 * transferred. One request at a time: the client terminates this worker to cancel a run.
 */
import { answerGrowRequest, type GrowRequest } from './grow-from-seeds.js'

onmessage = (e: MessageEvent<GrowRequest>) => {
  const { reply, transfer } = answerGrowRequest(e.data)
  postMessage(reply, { transfer })
}
