// cilium completion bash: a bash completion script generated from the command table, so
// it always knows every command, subcommand and flag of this build.
import { CliError } from '../cli-context.js';
import { defineCommand, type CliCommand } from '../command.js';

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
}

/** The bash completion script for `commands`. */
export function bashCompletion(commands: readonly CliCommand[]): string {
  // Words that may follow each command prefix ('' = top level), and flags per full path.
  const next = new Map<string, Set<string>>();
  const flags = new Map<string, string[]>();
  for (const c of [...commands, { path: ['completion'], flags: {} } as unknown as CliCommand]) {
    for (let i = 0; i < c.path.length; i++) {
      const prefix = c.path.slice(0, i).join(' ');
      if (!next.has(prefix)) next.set(prefix, new Set());
      next.get(prefix)!.add(c.path[i]!);
    }
    flags.set(c.path.join(' '), [...Object.keys(c.flags).map((f) => `--${kebab(f)}`), '--help']);
  }
  const cases: string[] = [];
  for (const [prefix, words] of [...next.entries()].sort()) {
    cases.push(`    "${prefix}") words="${[...words].sort().join(' ')}" ;;`);
  }
  for (const [path, f] of [...flags.entries()].sort()) {
    if (!next.has(path)) cases.push(`    "${path}") words="${f.join(' ')}" ;;`);
  }
  return `# bash completion for cilium (cilium-ts); load with: source <(cilium completion bash)
_cilium_ts() {
  local cur path w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) break ;; esac
    path="\${path:+$path }$w"
  done
  local words=""
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _cilium_ts cilium
`;
}

/** `cilium completion bash`, built over the CLI's command table (passed in to avoid an import cycle). */
export function makeCompletionCommand(commands: () => readonly CliCommand[]): CliCommand {
  return defineCommand({
    path: ['completion'],
    summary: 'print a shell completion script (bash)',
    positionals: 'bash',
    flags: {},
    async run(ctx, { positionals }) {
      const shell = positionals[0] ?? 'bash';
      if (shell !== 'bash' || positionals.length > 1) throw new CliError(`completion: unsupported shell "${positionals.join(' ')}" (supported: bash)`, 2);
      ctx.stdout.write(bashCompletion(commands()));
      return 0;
    },
  });
}
