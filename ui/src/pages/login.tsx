// Login: trades the admin token for the HttpOnly session cookie. The token is held only in this form's state.
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ErrorBanner } from '../components/status';
import { useTitle } from '../hooks';
import { login, loginNotice } from '../session';
import { toggleTheme, theme } from '../theme';

export function LoginPage() {
  useTitle('Log in');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const notice = loginNotice.value;

  async function submit(event: Event) {
    event.preventDefault();
    if (token.trim() === '') {
      setError(new ApiError(400, 'Enter the admin token.', 'missing_token', 'token'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(token.trim());
      setToken('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const fieldError = error instanceof ApiError && (error.param === 'token' || error.status === 401) ? error.message : undefined;
  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={submit} method="post" action="#" autocomplete="off" noValidate>
        <h1>Switchyard admin</h1>
        <p class="muted">Log in with an admin token (admin.token, admin.tokens, SWITCHYARD_ADMIN_TOKEN or data/admin.token).</p>
        {notice && <p class="banner warn">{notice}</p>}
        {!fieldError && <ErrorBanner error={error} />}
        <div class={`field${fieldError ? ' has-error' : ''}`}>
          <label for="admin-token">Admin token</label>
          <input
            id="admin-token"
            name="admin-token"
            type="password"
            autocomplete="current-password"
            autofocus
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            aria-invalid={fieldError ? 'true' : undefined}
            aria-describedby={fieldError ? 'admin-token-error' : 'admin-token-hint'}
          />
          {fieldError ? (
            <small id="admin-token-error" class="field-error" role="alert">
              {fieldError}
            </small>
          ) : (
            <small id="admin-token-hint" class="hint">
              Sent once to start a session; the browser keeps only an HttpOnly cookie.
            </small>
          )}
        </div>
        <div class="actions">
          <button type="button" class="ghost" onClick={toggleTheme} aria-pressed={theme.value === 'dark'}>
            {theme.value === 'dark' ? 'Light mode' : 'Dark mode'}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </div>
      </form>
    </main>
  );
}
