import type { Command, Option } from 'commander';
import { ACTION_STATUSES } from '../../../common/statuses';
import { defaultCatalog } from '../../../tasks';
import { CliError } from '../cli-context';

/** The shells `airlock completion` writes for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What a value is completed from: a fixed list of words, file names, directory names, or nothing. */
type ValueKind = { words: string[] } | 'files' | 'dirs' | 'none';

/** One command as the completion sees it (`''` is `airlock` itself, `'keys new'` a sub-command of `keys`). */
interface CommandNode {
  path: string;
  subcommands: string[];
  flags: string[];
  /** The flags followed by a value (the next word is that value, not a command). */
  valued: string[];
  /** How each valued flag's value completes. */
  values: Record<string, ValueKind>;
  /** How its first positional argument completes. */
  positional: ValueKind;
}

/**
 * Every word the scripts offer is printed into shell code inside single quotes, and bash's `compgen -W` expands
 * the words it is given: a word must therefore be plain (letters, digits and `._:@,/=-`), or the script is refused.
 */
const PLAIN_WORD = /^[A-Za-z0-9._:@,/=-]+$/;

function plain(words: readonly string[]): string {
  for (const word of words)
    if (!PLAIN_WORD.test(word))
      throw new CliError(
        `cannot offer ${JSON.stringify(word)} for completion: only plain words are written into a shell script.`,
      );
  return words.join(' ');
}

/** How an option's value completes: statuses, task names and shells from Airlock's own lists, files where a path goes. */
function valueKind(option: Option, tasks: string[]): ValueKind {
  if (option.long === '--status') return { words: [...ACTION_STATUSES] };
  if (option.long === '--task') return { words: tasks };
  const placeholder = /<([^>]+)>/.exec(option.flags)?.[1] ?? '';
  if (/^(file|path)$/.test(placeholder)) return 'files';
  return 'none';
}

/** How a command's first positional argument completes. */
function positionalKind(cmd: Command, tasks: string[]): ValueKind {
  const first = cmd.registeredArguments[0]?.name();
  if (first === 'task') return { words: tasks };
  if (first === 'shell') return { words: [...COMPLETION_SHELLS] };
  if (first === 'dir') return 'dirs';
  // `audit <action-id|verify|create-tables>`: the words among the alternatives (action ids are not completed).
  if (first?.includes('|')) return { words: first.split('|').filter((w) => w !== 'action-id') };
  return 'none';
}

/** The command tree of `program`, as the scripts walk it. */
function commandNodes(program: Command, tasks: string[]): CommandNode[] {
  const nodes: CommandNode[] = [];
  const visit = (cmd: Command, path: string) => {
    const options = cmd.options.filter((o) => !o.hidden);
    const flags = options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
    const valuedOptions = options.filter((o) => o.required || o.optional);
    nodes.push({
      path,
      subcommands: cmd.commands.map((c) => c.name()),
      flags: [...flags, '-h', '--help'],
      valued: valuedOptions.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
      values: Object.fromEntries(valuedOptions.map((o) => [o.long ?? o.short ?? '', valueKind(o, tasks)])),
      positional: positionalKind(cmd, tasks),
    });
    for (const sub of cmd.commands) visit(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  visit(program, '');
  return nodes;
}

/** The shell code that offers a value of `kind` for the word under the cursor (`$cur`). */
function offer(shell: CompletionShell, kind: ValueKind): string {
  if (kind === 'none') return shell === 'bash' ? ':' : 'return 1';
  if (shell === 'bash') {
    if (kind === 'files') return '_airlock_reply -o filenames -f';
    if (kind === 'dirs') return '_airlock_reply -o filenames -d';
    return `_airlock_reply -W '${plain(kind.words)}'`;
  }
  if (kind === 'files') return '_files';
  if (kind === 'dirs') return '_files -/';
  return `compadd -- ${kind.words.map((w) => `'${plain([w])}'`).join(' ')}`;
}

/** A command path as a `case` pattern's text: each of its words plain ('' for `airlock` itself). */
const pathText = (path: string): string => (path ? plain(path.split(' ')) : '');

/** The `case` arms that set `subs`, `flags` and `valued` for each command path. */
function nodeCases(nodes: CommandNode[]): string {
  return nodes
    .map(
      (n) =>
        `    '${pathText(n.path)}') subs='${plain(n.subcommands)}'; flags='${plain(n.flags)}'; valued='${plain(n.valued)}' ;;`,
    )
    .join('\n');
}

/** The `case` arms that complete an option's value (`path|--flag`) or a positional argument (`path|`). */
function valueCases(nodes: CommandNode[], shell: CompletionShell): string {
  const arms: string[] = [];
  for (const n of nodes) {
    for (const [flag, kind] of Object.entries(n.values))
      if (kind !== 'none') arms.push(`    '${pathText(n.path)}|${plain([flag])}') ${offer(shell, kind)} ;;`);
    if (n.positional !== 'none' && n.subcommands.length === 0)
      arms.push(`    '${pathText(n.path)}|') ${offer(shell, n.positional)} ;;`);
  }
  return arms.join('\n');
}

/** The bash script: `complete -F _airlock airlock`. */
function bashScript(nodes: CommandNode[]): string {
  return `# airlock completion for bash (generated by \`airlock completion bash\`): commands, options, statuses, task names.
# Load it in ~/.bashrc with:  source <(airlock completion bash)
_airlock_node() {
  case "$1" in
${nodeCases(nodes)}
    *) subs=''; flags='-h --help'; valued='' ;;
  esac
}
_airlock_reply() {
  local line
  if [[ $1 == -o ]]; then compopt -o "$2" 2>/dev/null; shift 2; fi
  while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen "$@" -- "$cur")
}
_airlock_value() {
  case "$1|$2" in
${valueCases(nodes, 'bash')}
    *) : ;;
  esac
}
_airlock() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd='' word skip='' subs flags valued i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then skip=''; continue; fi
    _airlock_node "$cmd"
    if [[ " $valued " == *" $word "* ]]; then skip=1
    elif [[ $word != -* && " $subs " == *" $word "* ]]; then cmd="\${cmd:+$cmd }$word"
    fi
  done
  _airlock_node "$cmd"
  if [[ -n $skip ]]; then _airlock_value "$cmd" "\${COMP_WORDS[COMP_CWORD-1]}"
  elif [[ $cur == -* ]]; then _airlock_reply -W "$flags"
  elif [[ -n $subs ]]; then _airlock_reply -W "$subs"
  else _airlock_value "$cmd" ''
  fi
  return 0
}
complete -F _airlock airlock
`;
}

/** The zsh script: a `compdef` function, also loadable from a file named `_airlock` on $fpath. */
function zshScript(nodes: CommandNode[]): string {
  return `#compdef airlock
# airlock completion for zsh (generated by \`airlock completion zsh\`): commands, options, statuses, task names.
# Load it in ~/.zshrc, after compinit, with:  source <(airlock completion zsh)
_airlock_node() {
  case "$1" in
${nodeCases(nodes)}
    *) subs=''; flags='-h --help'; valued='' ;;
  esac
}
_airlock_value() {
  case "$1|$2" in
${valueCases(nodes, 'zsh')}
    *) return 1 ;;
  esac
}
_airlock() {
  local cur="\${words[CURRENT]}" cmd='' word skip='' subs flags valued
  local -i i
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    if [[ -n $skip ]]; then skip=''; continue; fi
    _airlock_node "$cmd"
    if [[ " $valued " == *" $word "* ]]; then skip=1
    elif [[ $word != -* && " $subs " == *" $word "* ]]; then cmd="\${cmd:+$cmd }$word"
    fi
  done
  _airlock_node "$cmd"
  if [[ -n $skip ]]; then _airlock_value "$cmd" "\${words[CURRENT-1]}"
  elif [[ $cur == -* ]]; then compadd -- \${=flags}
  elif [[ -n $subs ]]; then compadd -- \${=subs}
  else _airlock_value "$cmd" ''
  fi
}
if [[ "\${funcstack[1]}" == _airlock ]]; then _airlock "$@"; else compdef _airlock airlock; fi
`;
}

/**
 * The completion script for `shell`, made from the program's own commands and options (so it never lists a
 * command that does not exist), with Airlock's statuses and the registered task names. Action ids are not completed:
 * each would cost a round trip to Temporal on every Tab.
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const nodes = commandNodes(
    program,
    defaultCatalog().map((t) => t.name),
  );
  return shell === 'bash' ? bashScript(nodes) : zshScript(nodes);
}

/** `airlock completion <shell>`: prints the script. */
export function completionCommand(program: Command, shell: string): void {
  if (!(COMPLETION_SHELLS as readonly string[]).includes(shell))
    throw new CliError(
      `No completion for ${JSON.stringify(shell)}: use \`airlock completion bash\` or \`airlock completion zsh\`.`,
    );
  process.stdout.write(completionScript(program, shell as CompletionShell));
}
