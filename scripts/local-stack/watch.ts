import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { buildPageScripts } from './build.js';
import { say } from './log-lines.js';
import type { TierProcess } from './tier-process.js';

/** dev: restarts a tier when its sources change (rebuilding the page's script first). */
export function watchForChanges(processes: TierProcess[], isStopping: () => boolean): FSWatcher[] {
  const pending = new Set<TierProcess>();
  const changed = new Set<string>();
  let clientChanged = false;
  let timer: NodeJS.Timeout | undefined;
  let restarting = Promise.resolve();

  const restart = () => {
    const due = [...pending];
    const rebuildClient = clientChanged;
    say('stack', `changed: ${[...changed].join(', ')}`);
    changed.clear();
    pending.clear();
    clientChanged = false;
    restarting = restarting.then(async () => {
      if (isStopping()) return;
      if (rebuildClient && !(await buildPageScripts())) {
        say('stack', 'the page script does not compile; fix it and save again');
        return;
      }
      // API first, so the web tier comes back to a ready API.
      for (const tierProcess of processes.filter((p) => due.includes(p))) {
        if (isStopping()) return;
        say('stack', `restarting the ${tierProcess.tier.name}…`);
        await tierProcess.stop();
        try {
          await tierProcess.start();
          say('stack', `${tierProcess.tier.name} restarted`);
        } catch (error) {
          say('stack', (error as Error).message);
        }
      }
    });
  };

  const watchers: FSWatcher[] = [];
  const folders = new Map<string, TierProcess[]>();
  for (const tierProcess of processes) {
    for (const folder of tierProcess.tier.watches) {
      folders.set(folder, [...(folders.get(folder) ?? []), tierProcess]);
    }
  }
  for (const [folder, affected] of folders) {
    watchers.push(
      watch(join(REPOSITORY_ROOT, folder), { recursive: true }, (_event, file) => {
        if (file && /(^|\/)\.|~$|\.tsbuildinfo$/.test(String(file))) return;
        affected.forEach((tierProcess) => pending.add(tierProcess));
        changed.add(join(folder, String(file ?? '')));
        if (folder === 'apps/web/client') clientChanged = true;
        clearTimeout(timer);
        timer = setTimeout(restart, 250);
      }),
    );
  }
  say('stack', 'watching for changes');
  return watchers;
}
