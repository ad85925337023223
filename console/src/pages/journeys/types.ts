/** A journey as GET /v1/journeys[/{id}] answers it (README, Journeys → Routes). */
export interface Journey {
  id: string;
  name: string;
  status: 'draft' | 'running' | 'paused' | 'stopped';
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy?: string;
  startedAt?: string;
  pausedAt?: string;
  stoppedAt?: string;
  counts: { entries: number; holdout: number; inFlight: number; exits: Record<string, number> };
}

/** What a journey in this status may do next (the API answers 409 to anything else). */
export const ACTIONS: Record<Journey['status'], Array<'start' | 'pause' | 'resume' | 'stop'>> = {
  draft: ['start', 'stop'],
  running: ['pause', 'stop'],
  paused: ['resume', 'stop'],
  stopped: [],
};

export const CREATE_NOTE = 'Journeys are created and changed through the API (POST /v1/journeys, PUT /v1/journeys/{id}): see "Journeys" in the README, with "The welcome series, step by step". Here you start, pause, resume and stop them and read their reports.';
