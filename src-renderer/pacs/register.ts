/** The PACS browser as a side panel, below the cases (imported once from app/builtin-panels.ts). */
import { registerPanel } from '../app/panels.js'
import PacsPanel from './PacsPanel.vue'

registerPanel({ id: 'pacs', slot: 'side', order: 30, component: PacsPanel })
