// Entry point: theme, session restore, the layout with navigation, and the page table.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render, type ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { currentPath, match, navigate } from './router';
import { logout, restoreSession, session } from './session';
import { applyTheme, theme, toggleTheme } from './theme';
import { LiveRegion, Loading } from './components/status';
import { LoginPage } from './pages/login';
import { DashboardPage } from './pages/dashboard';
import { KeysPage } from './pages/keys';
import { ModelsPage } from './pages/models';
import { ProvidersPage } from './pages/providers';
import { GuardsPage } from './pages/guards';
import { PricesPage } from './pages/prices';
import { AuditPage } from './pages/audit';
import { AuditRecordPage } from './pages/audit-record';
import { ChangesPage } from './pages/changes';
import { PlaygroundPage } from './pages/playground';

interface PageRoute {
  path: string;
  label?: string;
  page: ComponentType<{ params: Record<string, string> }>;
}

/** Order is the navigation's order; entries without a label are not in the navigation. */
const routes: PageRoute[] = [
  { path: '/ui/', label: 'Dashboard', page: DashboardPage },
  { path: '/ui/playground', label: 'Playground', page: PlaygroundPage },
  { path: '/ui/keys', label: 'Keys', page: KeysPage },
  { path: '/ui/models', label: 'Models', page: ModelsPage },
  { path: '/ui/providers', label: 'Providers', page: ProvidersPage },
  { path: '/ui/guards', label: 'Guards', page: GuardsPage },
  { path: '/ui/prices', label: 'Prices', page: PricesPage },
  { path: '/ui/audit', label: 'Audit', page: AuditPage },
  { path: '/ui/audit/:id', page: AuditRecordPage },
  { path: '/ui/changes', label: 'Changes', page: ChangesPage },
];

function resolve(path: string): { route: PageRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const params = match(route.path, path);
    if (params) return { route, params };
  }
  return undefined;
}

function ThemeToggle() {
  const dark = theme.value === 'dark';
  return (
    <button type="button" class="ghost theme-toggle" aria-pressed={dark} onClick={toggleTheme} title="Switch between light and dark">
      {dark ? 'Light mode' : 'Dark mode'}
    </button>
  );
}

function Navigation({ path }: { path: string }) {
  const section = (route: PageRoute) => (route.path === '/ui/' ? path === '/ui/' : path === route.path || path.startsWith(`${route.path}/`));
  return (
    <nav aria-label="Main">
      <ul>
        {routes
          .filter((r) => r.label)
          .map((r) => (
            <li>
              <a href={r.path} aria-current={section(r) ? 'page' : undefined}>
                {r.label}
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

function NotFound() {
  return (
    <section>
      <h1 id="page-title" tabIndex={-1}>
        Page not found
      </h1>
      <p>
        <a href="/ui/">Go to the dashboard</a>
      </p>
    </section>
  );
}

/** Where the address bar should go for this session state, if elsewhere. */
function redirectFor(loggedIn: boolean, path: string): string | undefined {
  if (!loggedIn) return path === '/ui/login' ? undefined : `/ui/login${path === '/ui/' ? '' : `?next=${encodeURIComponent(path)}`}`;
  if (path !== '/ui/login') return undefined;
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/ui/') && !next.startsWith('/ui/login') ? next : '/ui/';
}

function App() {
  const s = session.value;
  const path = currentPath.value;
  const redirect = s === undefined ? undefined : redirectFor(s !== null, path);
  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);
  // Moving to a page puts focus on its heading, so keyboard and screen-reader users start there.
  useEffect(() => {
    if (document.querySelector('dialog[open]')) return;
    document.getElementById('page-title')?.focus({ preventScroll: true });
  }, [path, s === null]);

  if (s === undefined) return <Loading what="Connecting" />;
  if (s === null)
    return (
      <>
        <LoginPage />
        <LiveRegion />
      </>
    );
  if (redirect) return null;
  const found = resolve(path);
  const Page = found?.route.page;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="layout">
        <header class="topbar">
          <a class="brand" href="/ui/">
            Switchyard
          </a>
          <Navigation path={path} />
          <div class="who">
            <span class="actor" title="Logged in as">
              {s.name}
              {s.read_only && <span class="badge muted">read-only</span>}
            </span>
            <ThemeToggle />
            <button type="button" class="ghost" onClick={() => void logout()}>
              Log out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {Page ? <Page params={found.params} key={found.route.path} /> : <NotFound />}
        </main>
      </div>
      <LiveRegion />
    </>
  );
}

applyTheme();
void restoreSession();
render(<App />, document.getElementById('app')!);
