/** The panels the app ships with. Add a panel by registering it in its own file and importing it here. */
import OrganPanel from '../components/OrganPanel.vue'
import CasesPanel from '../components/CasesPanel.vue'
import LesionPanel from '../components/LesionPanel.vue'
import { registerPanel } from './panels.js'

registerPanel({ id: 'organs', slot: 'side', order: 10, component: OrganPanel })
registerPanel({ id: 'lesions', slot: 'side', order: 15, component: LesionPanel })
registerPanel({ id: 'cases', slot: 'side', order: 20, component: CasesPanel })
import '../pacs/register.js'
