/** The run modes whose changes come from the source's binary log: no range is copied. */
export const CHANGES_MODES = ['binlog', 'cutover'] as const;
export type ChangesMode = (typeof CHANGES_MODES)[number];

/** Whether a run of this mode applies the binary log. */
export const usesBinlog = (mode: string): mode is ChangesMode => (CHANGES_MODES as readonly string[]).includes(mode);
