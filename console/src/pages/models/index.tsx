import { num, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { ReportFrame } from '../../ui/report-frame.tsx';
import { useResource } from '../../ui/resource.ts';
import type { ModelSummary } from '../../contracts.ts';

const KIND: Record<ModelSummary['kind'], string> = { propensity: 'Propensity', uplift: 'Uplift', btyd: 'Churn and value' };

/** The figure a marketer judges a model by, in one line. */
function headline(m: ModelSummary): string {
  const h = m.headline;
  const fixed = (n: number | undefined, digits: number) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');
  if (m.kind === 'btyd') return h.buyers === undefined ? '—' : `${num(h.buyers)} buyers, ${num(h.repeatBuyers)} repeat`;
  if (m.kind === 'uplift') return h.qiniCoefficient === undefined ? '—' : `Qini ${fixed(h.qiniCoefficient, 4)} (lower ${fixed(h.qiniLower, 4)})`;
  return h.auc === undefined ? '—' : `AUC ${fixed(h.auc, 3)}, ECE ${fixed(h.ece, 4)}`;
}

/**
 * The learned models: each with its status, headline figures and when it was trained, then the
 * API's models page (calibration, Qini, top features, forecast against actual) in a sandboxed frame.
 */
export default function Models() {
  const list = useResource<{ items: ModelSummary[] }>('/v1/models');
  return (
    <Page title="Models">
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="models" />
      ) : list.data.items.length === 0 ? (
        <Empty>No models yet: the page below says what the nightly run needs to train one.</Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="models">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">In use</th>
                <th scope="col">Headline</th>
                <th scope="col">Trained</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((m) => (
                <tr key={m.modelId} data-model={m.modelId}>
                  <th scope="row">{m.modelId}</th>
                  <td>{m.goal ? `${KIND[m.kind]} · ${m.goal}` : KIND[m.kind]}</td>
                  <td title={m.reason}>
                    <StatusBadge status={m.status} />
                  </td>
                  <td>{m.activeVersion === null ? 'none' : `v${m.activeVersion}${m.activeVersion !== m.latestVersion ? ` (latest v${m.latestVersion})` : ''}`}</td>
                  <td>{headline(m)}</td>
                  <td>{when(m.trainedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Details</h2>
      <ReportFrame path="/v1/models.html" title="Models report" />
    </Page>
  );
}
