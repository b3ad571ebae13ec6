# credproc shell integration for fish. Load it from ~/.config/fish/config.fish:
#
#   credproc shell-init fish | source
#
# credproc-use PROFILE   switch this shell to PROFILE's credentials (through `credproc env`)
# credproc-clear         remove them (and the profile) from this shell again
# credproc-prompt        print "PROFILE 42m" (minutes the credentials have left), or nothing;
#                        call it from fish_prompt or fish_right_prompt

# fish_trace would print the keys as they are set: a local, empty fish_trace turns it off inside
# the functions only, and it is back as it was when they return.
function credproc-use --description "Switch this shell to a profile's AWS credentials"
    set -l fish_trace
    if test (count $argv) -ne 1; or test -z "$argv[1]"
        echo "usage: credproc-use PROFILE" >&2
        return 2
    end
    # `set` keeps the status of the command substitution: nothing is sourced when credproc fails.
    set -l out (command credproc env --profile $argv[1] --format fish); or return
    string join \n -- $out | source
end

function credproc-clear --description "Remove the AWS credentials credproc-use set"
    set -l fish_trace
    set -l out (command credproc env --unset --format fish); or return
    string join \n -- $out | source
end

function credproc-prompt --description "Print the credproc profile and minutes left"
    set -q CREDPROC_PROFILE; and test -n "$CREDPROC_PROFILE"; or return 0
    set -l exp "$AWS_CREDENTIAL_EXPIRATION"
    # The parsed expiration is kept per value, so most prompts start one date(1), not two.
    if test "$exp" != "$__credproc_exp_src"
        set -g __credproc_exp_src $exp
        set -g __credproc_exp_epoch
        if test -n "$exp"
            set -g __credproc_exp_epoch (date -u -d "$exp" +%s 2>/dev/null; or date -u -j -f '%Y-%m-%dT%H:%M:%SZ' "$exp" +%s 2>/dev/null)
        end
    end
    if test -z "$__credproc_exp_epoch"
        printf '%s' $CREDPROC_PROFILE
        return 0
    end
    set -l secs (math $__credproc_exp_epoch - (date -u +%s))
    if test $secs -le 0
        printf '%s expired' $CREDPROC_PROFILE
    else
        printf '%s %dm' $CREDPROC_PROFILE (math --scale=0 "floor($secs / 60)")
    end
end

# Tab completion of profile names for credproc-use, answered by credproc from ~/.aws/config.
function __credproc_use_profiles
    set -l token (commandline -ct)
    for line in (env COMP_WORDS="credproc credential-process --profile $token" COMP_CWORD=3 \
            _CREDPROC_COMPLETE=bash_complete credproc 2>/dev/null)
        string replace --filter --regex '^plain,' '' -- $line
    end
end
complete --command credproc-use --no-files --arguments '(__credproc_use_profiles)'
