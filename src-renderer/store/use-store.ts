/**
 * Binds a zustand vanilla store to Vue. The store holds ids and plain data only; the composable
 * exposes a shallowRef of the selected slice so Vue never walks typed arrays or Cornerstone objects.
 */
import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import type { StoreApi } from 'zustand/vanilla'

export function useStore<S, T>(store: StoreApi<S>, select: (s: S) => T): Readonly<ShallowRef<T>> {
  const ref = shallowRef(select(store.getState()))
  const unsubscribe = store.subscribe((state) => {
    const next = select(state)
    if (!Object.is(next, ref.value)) ref.value = next
  })
  onScopeDispose(unsubscribe)
  return ref
}
