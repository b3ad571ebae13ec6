# credproc shell integration for bash. Load it from ~/.bashrc:
#
#   eval "$(credproc shell-init bash)"
#
# credproc-use PROFILE   switch this shell to PROFILE's credentials (through `credproc env`)
# credproc-clear         remove them (and the profile) from this shell again
# credproc-prompt        print "PROFILE 42m" (minutes the credentials have left), or nothing:
#                        PS1='$(credproc-prompt) \w \$ '

# Tracing (set -x) and verbose mode (set -v) would print the keys as they are assigned and
# evaluated: both are off while the functions run and restored as they were after; the braces with
# 2>/dev/null keep the switch itself out of the trace.
credproc-use() {
    { local __credproc_opts=${-//[^xv]/}; set +xv; } 2>/dev/null
    __credproc_use "$@"
    { local __credproc_status=$?; [ -z "$__credproc_opts" ] || set "-$__credproc_opts"; } 2>/dev/null
    return "$__credproc_status"
}

credproc-clear() {
    { local __credproc_opts=${-//[^xv]/}; set +xv; } 2>/dev/null
    __credproc_clear
    { local __credproc_status=$?; [ -z "$__credproc_opts" ] || set "-$__credproc_opts"; } 2>/dev/null
    return "$__credproc_status"
}

__credproc_use() {
    if [ "$#" -ne 1 ] || [ -z "$1" ]; then
        printf '%s\n' "usage: credproc-use PROFILE" >&2
        return 2
    fi
    # Assigned apart from `local` so a failure of credproc is seen and nothing half-done is evaluated.
    local __credproc_env
    __credproc_env=$(command credproc env --profile "$1" --format bash) || return
    eval "$__credproc_env"
    __credproc_expiry_epoch
}

__credproc_clear() {
    local __credproc_env
    __credproc_env=$(command credproc env --unset --format bash) || return
    eval "$__credproc_env"
    unset __CREDPROC_EXP_SRC __CREDPROC_EXP_EPOCH
}

# $AWS_CREDENTIAL_EXPIRATION (YYYY-MM-DDTHH:MM:SSZ) as seconds since the epoch, computed once per new
# value and kept in this shell, so drawing a prompt starts no date(1) (GNU first, then BSD/macOS).
__credproc_expiry_epoch() {
    if [ "${__CREDPROC_EXP_SRC-}" != "${AWS_CREDENTIAL_EXPIRATION-}" ]; then
        __CREDPROC_EXP_SRC=${AWS_CREDENTIAL_EXPIRATION-}
        __CREDPROC_EXP_EPOCH=
        if [ -n "$__CREDPROC_EXP_SRC" ]; then
            __CREDPROC_EXP_EPOCH=$(date -u -d "$__CREDPROC_EXP_SRC" +%s 2>/dev/null ||
                date -u -j -f '%Y-%m-%dT%H:%M:%SZ' "$__CREDPROC_EXP_SRC" +%s 2>/dev/null)
        fi
    fi
}

credproc-prompt() {
    [ -n "${CREDPROC_PROFILE-}" ] || return 0
    __credproc_expiry_epoch
    if [ -z "${__CREDPROC_EXP_EPOCH-}" ]; then
        printf '%s' "$CREDPROC_PROFILE"
        return 0
    fi
    local now=${EPOCHSECONDS-}
    [ -n "$now" ] || now=$(date -u +%s)
    local left=$(( (__CREDPROC_EXP_EPOCH - now) / 60 ))
    if [ $(( __CREDPROC_EXP_EPOCH - now )) -le 0 ]; then
        printf '%s expired' "$CREDPROC_PROFILE"
    else
        printf '%s %dm' "$CREDPROC_PROFILE" "$left"
    fi
}

# Tab completion of profile names for credproc-use, answered by credproc from ~/.aws/config.
__credproc_use_complete() {
    local IFS=$'\n' line
    COMPREPLY=()
    for line in $(COMP_WORDS="credproc credential-process --profile ${COMP_WORDS[COMP_CWORD]}" \
        COMP_CWORD=3 _CREDPROC_COMPLETE=bash_complete command credproc 2>/dev/null); do
        case $line in plain,*) COMPREPLY+=("${line#plain,}") ;; esac
    done
}
complete -F __credproc_use_complete credproc-use
