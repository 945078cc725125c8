// Light/dark theme: follows prefers-color-scheme unless toggled; the choice lives in sessionStorage only.
import { signal } from '@preact/signals';

export type ThemeChoice = 'light' | 'dark';
const storageKey = 'switchyard-admin-theme';
const media = matchMedia('(prefers-color-scheme: dark)');

function stored(): ThemeChoice | null {
  try {
    const v = sessionStorage.getItem(storageKey);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

const choice = signal<ThemeChoice | null>(stored());
const systemDark = signal<boolean>(media.matches);
media.addEventListener('change', () => (systemDark.value = media.matches));

/** The theme in effect now. */
export const theme = {
  get value(): ThemeChoice {
    return choice.value ?? (systemDark.value ? 'dark' : 'light');
  },
};

export function applyTheme(): void {
  const c = choice.value;
  if (c) document.documentElement.dataset.theme = c;
  else delete document.documentElement.dataset.theme;
}

export function toggleTheme(): void {
  choice.value = theme.value === 'dark' ? 'light' : 'dark';
  try {
    sessionStorage.setItem(storageKey, choice.value);
  } catch {
    // Storage refused (private mode): the choice lasts for this page.
  }
  applyTheme();
}
