namespace CtxRelay.Cli.Internal;

/// <summary>
/// Shell completion scripts. Each asks the tool itself through System.CommandLine's <c>[suggest:N]</c>
/// directive (N = the cursor position in the line), so completions always match the installed version
/// and no other tool (dotnet-suggest) is needed.
/// </summary>
internal static class Completion
{
    public static readonly string[] Shells = ["bash", "zsh", "pwsh"];

    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # contextrelay completion for bash. Add to ~/.bashrc:  eval "$(contextrelay completion bash)"
            _contextrelay_complete() {
                local IFS=$'\n'
                local suggestions
                suggestions="$(contextrelay "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)"
                COMPREPLY=( $(compgen -W "${suggestions}" -- "${COMP_WORDS[COMP_CWORD]}") )
            }
            complete -o default -F _contextrelay_complete contextrelay

            """,
        "zsh" => """
            # contextrelay completion for zsh. Add to ~/.zshrc (after compinit):  eval "$(contextrelay completion zsh)"
            _contextrelay_complete() {
                local line="${words[*]}"
                local -a suggestions
                suggestions=("${(@f)$(contextrelay "[suggest:${#line}]" "${line}" 2>/dev/null)}")
                if (( ${#suggestions} )) && [[ -n "${suggestions[1]}" ]]; then
                    compadd -a suggestions
                else
                    _files
                fi
            }
            compdef _contextrelay_complete contextrelay

            """,
        "pwsh" => """
            # contextrelay completion for PowerShell. Add to $PROFILE:  contextrelay completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName contextrelay -ScriptBlock {
                param($wordToComplete, $commandAst, $cursorPosition)
                $line = $commandAst.ToString()
                $position = $cursorPosition - $commandAst.Extent.StartOffset
                contextrelay "[suggest:$position]" "$line" 2>$null | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                }
            }

            """,
        _ => throw new UsageException($"No completion for the shell '{shell}': choose one of {string.Join(", ", Shells)}."),
    };
}
