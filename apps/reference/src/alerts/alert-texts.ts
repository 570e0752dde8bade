import type { BacklogReport, DeadEvent } from '@c2p/core';
import type { Alert } from './create-alerts.js';

/** `dead`: an event ran out of attempts and needs a person. */
export function deadAlert(event: DeadEvent): Alert {
  return {
    alert: 'dead',
    text: `c2p: ${event.eventType} for ${event.resource} is dead after ${event.attempts} attempts (inbox event ${event.id}): ${event.lastError}. Replay it from the admin once the cause is fixed.`,
    event: { ...event },
  };
}

/** `backlog`: the oldest unfinished event has waited past the threshold. */
export function backlogAlert(report: BacklogReport): Alert {
  const age = Math.round(report.oldestUnfinishedAgeMs / 1000);
  return {
    alert: 'backlog',
    text: `c2p: the inbox is behind: its oldest unfinished event has waited ${age} s (threshold ${report.thresholdMs / 1000} s).`,
    oldestUnfinishedAgeSeconds: age,
  };
}

/** `recovered`: back under the threshold. */
export function recoveredAlert(report: BacklogReport): Alert {
  return {
    alert: 'recovered',
    text: `c2p: the inbox has caught up: no unfinished event has waited more than ${report.thresholdMs / 1000} s.`,
  };
}
