// Worker-thread entry of startSimulatorThread: starts the simulator, closes it on 'stop', then lets the thread end.
import { parentPort, workerData } from 'node:worker_threads';
import type { SimulatorOptions } from './options.js';
import { startSimulator } from './server.js';
import type { SimulatorThreadCommand, SimulatorThreadMessage } from './thread.js';

const port = parentPort;
if (port === null) throw new Error('thread-entry.js must run in a worker thread.');
const send = (message: SimulatorThreadMessage): void => port.postMessage(message);

try {
  const simulator = await startSimulator(workerData as Partial<SimulatorOptions>);
  port.on('message', (command: SimulatorThreadCommand) => {
    if (command.type !== 'stop') return;
    void simulator.close().then(() => {
      // uWS sockets are closed; dropping the port leaves the event loop empty so the thread exits.
      port.close();
    });
  });
  send({ type: 'listening', port: simulator.port });
} catch (err) {
  send({ type: 'failed', message: (err as Error).message });
  port.close();
}
