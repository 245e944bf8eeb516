import { confusionSpec, type ConfusionPanel } from './charts/confusion.ts';
import { figureHtml, formatNumber as format, html, htmlTable, type SafeHtml } from './html.ts';
import type { FigureSet } from './render.ts';
import { fieldAt } from '../core/json.ts';
import { RUN_FILES } from '../runs/layout.ts';
import type { RunFiles } from '../runs/run-dir.ts';

/**
 * The report's section for categorical and ordinal label groups (softmax severities, graded regressions), read
 * from metrics.json `groups`: a table of each group's numbers and their confusion matrices. Binary labels have
 * their own sections; a run without such groups has no section.
 */
interface CategoricalScores {
  kind: 'categorical';
  classes?: string[];
  accuracy: number;
  auc_macro: number | null;
  confusion: number[][];
}

interface PerClass {
  mean?: number | null;
  perClass: Record<string, number | null>;
}

interface OrdinalScores {
  kind: 'ordinal';
  accuracy: PerClass;
  mae: PerClass;
  qwk: PerClass;
  confusion?: Record<string, number[][]>;
}

type GroupScores = CategoricalScores | OrdinalScores;

/** The held-out split whose groups are shown: test when the run has one, else validation. */
function groupsOf(files: RunFiles): { split: string; groups: Record<string, GroupScores> } | undefined {
  for (const [key, split] of [['test', 'test'], ['val', 'validation']] as const) {
    const groups = fieldAt(files.metrics, `${key}.groups`);
    if (groups && typeof groups === 'object' && Object.keys(groups).length > 0) return { split, groups: groups as Record<string, GroupScores> };
  }
  return undefined;
}

function scoresTable(groups: Record<string, GroupScores>, split: string): SafeHtml {
  const rows: string[][] = [];
  for (const [name, scores] of Object.entries(groups)) {
    if (scores.kind === 'categorical') {
      rows.push([name, 'categorical (arg max)', (scores.classes ?? []).join(' / '), format(scores.accuracy), format(scores.auc_macro), '—', '—']);
    } else {
      for (const type of Object.keys(scores.accuracy.perClass)) {
        rows.push([name, 'ordinal (graded)', type, format(scores.accuracy.perClass[type]), '—', format(scores.mae.perClass[type]), format(scores.qwk.perClass[type])]);
      }
    }
  }
  return htmlTable(['group', 'kind', 'classes / type', 'accuracy', 'AUC macro (one vs rest)', 'grade MAE', 'QWK'], rows, {
    caption: `${split} split, from ${RUN_FILES.metrics} groups: categorical groups predict the arg-max class; ordinal types are graded by their thresholds.`,
  });
}

function confusionPanels(groups: Record<string, GroupScores>): { categorical: ConfusionPanel[]; ordinal: ConfusionPanel[] } {
  const categorical: ConfusionPanel[] = [];
  const ordinal: ConfusionPanel[] = [];
  for (const [name, scores] of Object.entries(groups)) {
    if (scores.kind === 'categorical') {
      const labels = scores.classes ?? scores.confusion.map((_, k) => `class ${k}`);
      categorical.push({ className: name, setting: 'arg max', counts: scores.confusion, labels });
    } else {
      for (const [type, counts] of Object.entries(scores.confusion ?? {})) {
        ordinal.push({ className: `${name}: ${type}`, setting: 'grade', counts, labels: counts.map((_, k) => String(k)) });
      }
    }
  }
  return { categorical, ordinal };
}

/** The section's body, or undefined when metrics.json has no categorical or ordinal groups. */
export async function labelGroupsSection(files: RunFiles, figures: FigureSet): Promise<SafeHtml | undefined> {
  const chosen = groupsOf(files);
  if (!chosen) return undefined;
  const { categorical, ordinal } = confusionPanels(chosen.groups);
  const parts: SafeHtml[] = [scoresTable(chosen.groups, chosen.split)];
  const charts = [
    { name: 'group-confusion-categorical', panels: categorical, title: 'Categorical groups', what: 'True class against the arg-max class per categorical group' },
    { name: 'group-confusion-ordinal', panels: ordinal, title: 'Ordinal grades', what: 'True grade against the graded prediction per ordinal type' },
  ];
  for (const { name, panels, title, what } of charts.filter((chart) => chart.panels.length > 0)) {
    const caption = `${what} on the ${chosen.split} split; cells are shaded by the share of their true row.`;
    parts.push(figureHtml(await figures.add(name, confusionSpec(panels, `${title} (${chosen.split})`), caption)));
  }
  return html`${parts}`;
}
