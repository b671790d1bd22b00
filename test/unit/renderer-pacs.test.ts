/** The PACS panel's form and display helpers (src-renderer/pacs/pacs-store.ts): what the QIDO query gets, what the table shows. */
import { describe, expect, it } from 'vitest'
import { PacsSearchRequestSchema } from '../../src-shared/contract/schemas.js'
import { showDate, showName, studyDateQuery } from '../../src-renderer/pacs/pacs-store.js'

describe('PACS panel helpers', () => {
  it('turns the two date fields into a QIDO-RS StudyDate the contract accepts', () => {
    expect(studyDateQuery('', '')).toBeUndefined()
    expect(studyDateQuery('2025-12-01', '2026-01-31')).toBe('20251201-20260131')
    expect(studyDateQuery('2025-12-01', '')).toBe('20251201-')
    expect(studyDateQuery('', '2026-01-31')).toBe('-20260131')
    expect(studyDateQuery('2026-01-01', '2026-01-01')).toBe('20260101')
    for (const [a, b] of [['2025-12-01', '2026-01-31'], ['2025-12-01', ''], ['', '2026-01-31'], ['2026-01-01', '2026-01-01']]) {
      expect(PacsSearchRequestSchema.safeParse({ server: 'orthanc', studyDate: studyDateQuery(a, b) }).success).toBe(true)
    }
  })
  it('shows DICOM dates and person names readably, and leaves odd values as they are', () => {
    expect(showDate('20260101')).toBe('2026-01-01')
    expect(showDate('2026')).toBe('2026')
    expect(showName('Phantom^Test')).toBe('Phantom, Test')
    expect(showName('Doe')).toBe('Doe')
    expect(showName('')).toBe('')
  })
})
