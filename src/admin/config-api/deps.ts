// What the config API routes work with.
import type { ConfigReloader } from '../../config/reload.js';
import type { RuntimeConfigStore } from '../../config/store/runtime-store.js';

export interface ConfigApiDeps {
  store: RuntimeConfigStore;
  reloader: ConfigReloader;
}
