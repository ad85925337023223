/**
 * A model as `GET /v1/models` answers it (shared/learning/model-views.ts `ModelSummary`; that
 * module is not bundled: it reaches the models table's store and the AWS SDK).
 */
export interface ModelSummary {
  modelId: string;
  kind: 'propensity' | 'uplift' | 'btyd';
  goal?: string;
  status: 'active' | 'insufficient_history' | 'no_signal' | 'not_better' | 'reserved_name' | 'stale';
  reason: string;
  activeVersion: number | null;
  latestVersion: number;
  trainedAt: string;
  activeTrainedAt?: string;
  headline: {
    auc?: number;
    aucLower95?: number;
    brierSkill?: number;
    ece?: number;
    qiniCoefficient?: number;
    qiniLower?: number;
    buyers?: number;
    repeatBuyers?: number;
    examples?: number;
  };
}
