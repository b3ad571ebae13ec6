# credproc shell integration for zsh. Load it from ~/.zshrc (after compinit, for tab completion):
#
#   eval "$(credproc shell-init zsh)"
#
# credproc-use PROFILE   switch this shell to PROFILE's credentials (through `credproc env`)
# credproc-clear         remove them (and the profile) from this shell again
# credproc-prompt        print "PROFILE 42m" (minutes the credentials have left), or nothing:
#                        setopt PROMPT_SUBST; PROMPT='$(credproc-prompt) %~ %# '

zmodload -F zsh/datetime b:strftime p:EPOCHSECONDS 2>/dev/null

# Tracing (xtrace) and verbose mode would print the keys as they are assigned and evaluated: both
# are off inside the functions; local_options (set by emulate -L) restores them on return.
credproc-use() {
    emulate -L zsh
    setopt no_xtrace no_verbose
    if (( $# != 1 )) || [[ -z $1 ]]; then
        print -ru2 -- "usage: credproc-use PROFILE"
        return 2
    fi
    local __credproc_env
    __credproc_env=$(command credproc env --profile "$1" --format zsh) || return
    eval "$__credproc_env"
}

credproc-clear() {
    emulate -L zsh
    setopt no_xtrace no_verbose
    local __credproc_env
    __credproc_env=$(command credproc env --unset --format zsh) || return
    eval "$__credproc_env"
}

credproc-prompt() {
    emulate -L zsh
    [[ -n ${CREDPROC_PROFILE-} ]] || return 0
    local exp=${AWS_CREDENTIAL_EXPIRATION-} epoch
    # zsh/datetime parses the UTC timestamp in-process: drawing a prompt starts no date(1).
    if [[ -z $exp ]] || ! TZ=UTC strftime -r -s epoch '%Y-%m-%dT%H:%M:%SZ' "$exp" 2>/dev/null; then
        print -rn -- "$CREDPROC_PROFILE"
        return 0
    fi
    local -i secs=$(( epoch - EPOCHSECONDS ))
    if (( secs <= 0 )); then
        print -rn -- "$CREDPROC_PROFILE expired"
    else
        print -rn -- "$CREDPROC_PROFILE $(( secs / 60 ))m"
    fi
}

# Tab completion of profile names for credproc-use, answered by credproc from ~/.aws/config.
__credproc_use_complete() {
    local -a names
    local line
    for line in "${(@f)$(COMP_WORDS="credproc credential-process --profile ${words[CURRENT]}" \
        COMP_CWORD=3 _CREDPROC_COMPLETE=bash_complete command credproc 2>/dev/null)}"; do
        [[ $line == plain,* ]] && names+=("${line#plain,}")
    done
    compadd -a names
}
(( $+functions[compdef] )) && compdef __credproc_use_complete credproc-use
