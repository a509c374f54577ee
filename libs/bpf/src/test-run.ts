// BPF_PROG_TEST_RUN of a pinned program (endpoint programs, from-overlay).
import { closeFd, objGet, progTestRun, type TestRunContext, type TestRunResult } from './libbpf.js';

/** Runs the program pinned at pin on packet (repeat times, starting from ctx's skb mark / cb). */
export function testRunPinned(pin: string, what: string, packet: Buffer, repeat = 1, ctx?: TestRunContext): TestRunResult {
  const fd = objGet(pin, what);
  try {
    return progTestRun(fd, packet, repeat, ctx);
  } finally {
    closeFd(fd);
  }
}
