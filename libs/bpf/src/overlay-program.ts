// Tunnel mode's node side: the `tunnel` settings map and the from-overlay program
// (pinDir/overlay/from-overlay) on tc ingress of the VXLAN device.
import { mkdirSync, renameSync } from 'node:fs';
import { BpfMap } from './bpf-map.js';
import { loadOverlayObject, overlayConfig, PROGRAMS } from './endpoint-loader.js';
import { objPin, type TestRunResult } from './libbpf.js';
import { u32 } from './map-codecs.js';
import { rmQuiet } from './pin-files.js';
import { readPinnedProgram } from './pinned-program.js';
import { loadedFromThisBuild } from './program-current.js';
import { tcAttach, tcAttachedProgramId, tcDetach, type TcTarget } from './tc-attach.js';
import { testRunPinned } from './test-run.js';
import { tunnelConfig, type TunnelConfig } from './tunnel-config.js';

/** Result of attachOverlay: reattached false when the attached program was current and nothing was loaded. */
export interface OverlayAttachResult { reattached: boolean }

/** The overlay side of one node's datapath. */
export class OverlayProgram {
  constructor(
    private readonly pinDir: string,
    private readonly objectPath: string,
  ) {}

  /** Writes the tunnel settings (undefined = native routing). */
  setTunnel(cfg: TunnelConfig | undefined): void {
    const map = BpfMap.openPinned(`${this.pinDir}/tunnel`, 'tunnel', u32, tunnelConfig);
    try {
      map.update(0, cfg);
    } finally {
      map.close();
    }
  }

  /** The tunnel settings in the datapath, undefined in native routing. */
  tunnel(): TunnelConfig | undefined {
    const map = BpfMap.openPinned(`${this.pinDir}/tunnel`, 'tunnel', u32, tunnelConfig);
    try {
      return map.lookup(0);
    } finally {
      map.close();
    }
  }

  /** Pin path of the from-overlay program. */
  pin(): string {
    return `${this.pinDir}/overlay/from-overlay`;
  }

  /** Loads (unless current), pins and attaches from-overlay (see Datapath.attachOverlay). */
  async attach(target: TcTarget): Promise<OverlayAttachResult> {
    const pin = this.pin();
    const current = readPinnedProgram(pin, 'program from-overlay');
    if (current && loadedFromThisBuild(this.pinDir, current, overlayConfig(this.objectPath)) && (await tcAttachedProgramId(target, 'ingress')) === current.id) {
      return { reattached: false } as OverlayAttachResult;
    }
    mkdirSync(`${this.pinDir}/overlay`, { recursive: true });
    const obj = loadOverlayObject(this.objectPath, this.pinDir);
    try {
      rmQuiet(`${pin}-new`);
      objPin(obj.programFd(PROGRAMS.fromOverlay), `${pin}-new`, 'program from_overlay');
    } finally {
      obj.close();
    }
    try {
      await tcAttach(target, 'ingress', `${pin}-new`);
      renameSync(`${pin}-new`, pin);
      return { reattached: true } as OverlayAttachResult;
    } catch (err) {
      rmQuiet(`${pin}-new`);
      throw err;
    }
  }

  /** Detaches from-overlay from target and removes its pin; succeeds when already gone. */
  async detach(target: TcTarget): Promise<void> {
    await tcDetach(target, 'ingress');
    rmQuiet(this.pin());
  }

  /** Runs the pinned from-overlay program on packet (BPF_PROG_TEST_RUN). */
  testRun(packet: Buffer): TestRunResult {
    return testRunPinned(this.pin(), 'program from-overlay', packet, 1);
  }
}
