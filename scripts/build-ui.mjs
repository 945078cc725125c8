// Builds the admin UI (ui/) into <outdir>/ui. Placeholder until the UI sources land.
import { existsSync } from 'node:fs';
if (existsSync(new URL('../ui/src', import.meta.url))) console.error('build-ui: UI sources present but the build script is not written yet');
