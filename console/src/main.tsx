import { render, type ComponentType } from 'preact';
import { ErrorBoundary, lazy, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useEffect } from 'preact/hooks';
import { loadConfig, type Auth, type ConsoleConfig } from './auth/auth.ts';
import { localAuth } from './auth/local.ts';
import { signIn, signOut, startSession, useSession } from './session.ts';
import { Dialog } from './ui/dialog.tsx';
import './styles.css';

/**
 * The console's shell: configuration, sign-in, navigation and the pages (each a lazy chunk, so
 * the first load carries only the shell and Home).
 */
const Home = lazy(() => import('./pages/home.tsx'));
const Contacts = lazy(() => import('./pages/contacts/index.tsx'));
const ContactProfile = lazy(() => import('./pages/contacts/profile.tsx'));
const Templates = lazy(() => import('./pages/templates/index.tsx'));
const TemplateEditor = lazy(() => import('./pages/templates/editor.tsx'));
const Forms = lazy(() => import('./pages/forms/index.tsx'));
const FormEditor = lazy(() => import('./pages/forms/editor.tsx'));
const FormDetail = lazy(() => import('./pages/forms/detail.tsx'));
const Sites = lazy(() => import('./pages/sites/index.tsx'));
const SiteEditor = lazy(() => import('./pages/sites/editor.tsx'));
const Journeys = lazy(() => import('./pages/journeys/index.tsx'));
const JourneyDetail = lazy(() => import('./pages/journeys/detail.tsx'));
const Imports = lazy(() => import('./pages/imports/index.tsx'));
const ImportDetail = lazy(() => import('./pages/imports/detail.tsx'));
const Segments = lazy(() => import('./pages/segments/index.tsx'));
const SegmentEditor = lazy(() => import('./pages/segments/editor.tsx'));
const Campaigns = lazy(() => import('./pages/campaigns/index.tsx'));
const CampaignForm = lazy(() => import('./pages/campaigns/form.tsx'));
const CampaignPage = lazy(() => import('./pages/campaigns/detail.tsx'));
const Models = lazy(() => import('./pages/models/index.tsx'));

/** Navigation: label and path. A page's routes are declared in ROUTES below. */
const NAV: Array<[label: string, href: string]> = [
  ['Home', '/'],
  ['Campaigns', '/campaigns'],
  ['Segments', '/segments'],
  ['Templates', '/templates'],
  ['Contacts', '/contacts'],
  ['Journeys', '/journeys'],
  ['Forms', '/forms'],
  ['Imports', '/imports'],
  ['Models', '/models'],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each page reads its own route params
const ROUTES: Array<[path: string, component: ComponentType<any>]> = [
  ['/', Home],
  ['/contacts', Contacts],
  ['/contacts/:id', ContactProfile],
  ['/templates', Templates],
  ['/templates/new', TemplateEditor],
  ['/templates/:id', TemplateEditor],
  ['/forms', Forms],
  ['/forms/new', FormEditor],
  ['/forms/:id', FormDetail],
  ['/sites', Sites],
  ['/sites/new', SiteEditor],
  ['/sites/:id', SiteEditor],
  ['/journeys', Journeys],
  ['/journeys/:id', JourneyDetail],
  ['/imports', Imports],
  ['/imports/:id', ImportDetail],
  ['/segments', Segments],
  ['/segments/new', SegmentEditor],
  ['/segments/:id', SegmentEditor],
  ['/campaigns', Campaigns],
  ['/campaigns/new', CampaignForm],
  ['/campaigns/:id', CampaignPage],
  ['/campaigns/:id/edit', CampaignForm],
  ['/models', Models],
];

function Shell() {
  const session = useSession();
  const { path } = useLocation();
  useEffect(() => {
    // Move focus to the new page's heading after navigation, for keyboard and screen-reader users.
    const h = document.getElementById('page-title');
    h?.focus({ preventScroll: true });
  }, [path]);
  if (session.status === 'loading') return <p class="boot">Signing in…</p>;
  if (session.status === 'signed-out') return <SignIn />;
  const current = (href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Touchloop
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([label, href]) => (
              <li key={href}>
                <a href={href} aria-current={current(href) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title="Signed in as">{session.session.email ?? session.session.subject}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <ErrorBoundary>
          <Router>
            {[...ROUTES.map(([p, C]) => <Route key={p} path={p} component={C} />), <Route key="404" default component={NotFound} />]}
          </Router>
        </ErrorBoundary>
      </main>
      <Dialog open={session.status === 'expired'} title="Your session ended — sign in again" required>
        <p>What you were doing is kept: sign in and carry on where you were.</p>
        <div class="actions">
          <button type="button" class="primary" onClick={() => void signIn()}>
            Sign in again
          </button>
        </div>
      </Dialog>
    </>
  );
}

function SignIn() {
  useEffect(() => {
    document.title = 'Sign in · Touchloop';
  }, []);
  const local = mode === 'local';
  return (
    <main id="main" class="signin">
      <h1>Touchloop</h1>
      <p>Sign in to plan campaigns, build segments and read what worked.</p>
      <button type="button" class="primary" onClick={() => void signIn()}>
        {local ? 'Continue as local-marketer (dev identity)' : 'Sign in'}
      </button>
    </main>
  );
}

function NotFound() {
  return (
    <section class="page">
      <h1 id="page-title" tabIndex={-1}>
        Not found
      </h1>
      <p>
        Nothing here. <a href="/">Back to Home</a>
      </p>
    </section>
  );
}

let mode: ConsoleConfig['auth']['mode'] = 'local';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  let config: ConsoleConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    root.innerHTML = '';
    render(<p class="form-errors">The console could not load its configuration: {(error as Error).message}</p>, root);
    return;
  }
  mode = config.auth.mode;
  const auth: Auth = config.auth.mode === 'oidc' ? await (await import('./auth/oidc.ts')).oidcAuth(config.auth) : localAuth();
  // Before the router reads the address: completing an OIDC sign-in rewrites /auth/callback to where the marketer was.
  await startSession(config, auth);
  root.innerHTML = '';
  render(
    <LocationProvider>
      <Shell />
    </LocationProvider>,
    root,
  );
}

void boot();
