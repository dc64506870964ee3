// Dates for staff screens: ISO order (2026-03-04 14:05), in the computer's time zone and named,
// so a date reads the same in every locale and is never mistaken for a US month-first date.

const pad = (n: number): string => String(n).padStart(2, '0');

/** "2026-03-04 14:05" in local time; "unknown date" for anything unparsable. */
export function formatWhen(iso: string | null | undefined): string {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return 'unknown date';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The local time zone's name for "(time zone)" after a date, e.g. "Europe/Zurich". */
export function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/** DICOM YYYYMMDD as YYYY-MM-DD, or '' when absent. */
export function dicomDate(d: string | null | undefined): string {
  const m = d ? /^(\d{4})(\d{2})(\d{2})$/.exec(d) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : '';
}
