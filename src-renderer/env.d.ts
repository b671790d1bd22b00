/// <reference types="vite/client" />
// vue-tsc does not run with TypeScript 7 (see README): .vue files are typed as plain components and
// keep their script blocks small; the logic they call lives in typed .ts modules.
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}
