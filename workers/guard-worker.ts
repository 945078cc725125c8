// Piscina entry point of the guard pool: unframes a task, runs it on this thread's GuardEngine, frames the answer.
import { workerData, move } from 'piscina';
import { GuardEngine } from '../src/guards/engine.js';
import { analyseRequestBody } from '../src/guards/request-analysis.js';
import { SharedSlots } from '../src/shared/shared-slots.js';
import { applyThreadPriority, readThreadScheduling } from '../src/pool/thread-priority.js';
import { log } from '../src/shared/log.js';
import { frame, unframe, type GuardTask, type GuardTaskResult, type GuardWorkerData } from '../src/pool/tasks.js';

const { setup, sendArea: sendMemory, returnArea: returnMemory, priority } = workerData as GuardWorkerData;
const sendArea = new SharedSlots(sendMemory);
const returnArea = new SharedSlots(returnMemory);

const priorityProblem = applyThreadPriority(priority);
if (priorityProblem) log.warn('guard worker priority not applied as configured', { priority, problem: priorityProblem });

const engine = new GuardEngine(setup);

function run(task: GuardTask): GuardTaskResult {
  switch (task.kind) {
    case 'analyse-request': {
      // Read in place: the server thread owns the slot, and does not touch it, until this task settles.
      const body = task.bodySlot >= 0 ? sendArea.view(task.bodySlot, task.bodyLength) : task.body!;
      const analysis = analyseRequestBody(engine, body, task.spec);
      let bodyInSlot = -1;
      if (analysis.body && task.returnSlot >= 0 && returnArea.write(task.returnSlot, analysis.body)) {
        bodyInSlot = analysis.body.byteLength;
        analysis.body = null;
      }
      return { kind: 'analyse-request', analysis, bodyInSlot };
    }
    case 'count':
      return engine.count(task);
    case 'scheduling':
      return { kind: 'scheduling', scheduling: readThreadScheduling() ?? null, problem: priorityProblem ?? null };
    case 'crash':
      if (!setup.testHooks) throw new Error('test hooks are disabled');
      process.exit(70);
    // falls through (process.exit does not return)
    case 'spin': {
      if (!setup.testHooks) throw new Error('test hooks are disabled');
      const until = Date.now() + task.ms;
      while (Date.now() < until) {
        // busy on purpose: a worker stuck in synchronous code
      }
      return { kind: 'spin' };
    }
  }
}

/** Returns the framed answer wrapped by Piscina.move, so its buffer is transferred back, not cloned. */
export default function guardWorker(bytes: Uint8Array): unknown {
  const answer = frame(run(unframe<GuardTask>(bytes)));
  return move(answer);
}
