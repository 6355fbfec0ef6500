# bash completion for thingpress(1).
#
# Installed as share/bash-completion/completions/thingpress (scripts/install.sh),
# where bash-completion loads it on first use; or source it from ~/.bashrc.
# Self-contained: it needs nothing from the bash-completion package.
#
# Completes the commands; each command's options (the lists below, which
# //tests:completion_test compares with every `thingpress CMD --help`); the
# values of options with a fixed set (--vendor, --output, --cert-active, ...)
# or a kind (directories, *.toml, files); input files by kind for validate,
# provision and console (vendor files and device-infos, narrowed by a --vendor
# on the line); directories for watch; and for status the job ids of the
# journal, read with `thingpress status --output tsv` quietly, from the
# --state DIR given on the line if there is one.

_thingpress_job_opts="--vendor --policies --thing-groups --thing-type --cert-active
    --thing-deferred --infineon-bundle --microchip-signers --config"
_thingpress_conn_opts="--skip-invalid --endpoint-url --allow-http --region --profile
    --ca-bundle --local --account --state --workers --rate --max-outage --verbose"

# The options of command $1, --help included.
_thingpress_opts()
{
    case $1 in
    validate)
        echo "--output --threads --check-registry $_thingpress_conn_opts" \
            "$_thingpress_job_opts --help"
        ;;
    provision)
        echo "--dry-run --resume-cancelled $_thingpress_conn_opts" \
            "$_thingpress_job_opts --help"
        ;;
    watch)
        echo "--settle --rescan --once $_thingpress_conn_opts $_thingpress_job_opts" \
            "--help"
        ;;
    console) echo "--samples $_thingpress_conn_opts $_thingpress_job_opts --help" ;;
    status) echo "--state --output --failed --limit --follow --help" ;;
    audit) echo "--state --help" ;;
    sim)
        echo "--listen --db --quotas --faults --account --region --credentials --log" \
            "--threads --help"
        ;;
    esac
}

# COMPREPLY (+= with -a): the words of $1 that start with $2.
_thingpress_words()
{
    local -a w
    mapfile -t w < <(compgen -W "$1" -- "$2")
    if [ "${3:-}" = -a ]; then
        COMPREPLY+=("${w[@]}")
    else
        COMPREPLY=("${w[@]}")
    fi
}

# A case-insensitive glob for the extension $1: "csv" -> "*.[cC][sS][vV]".
_thingpress_ext_glob()
{
    local e=$1 g="*." c i
    for ((i = 0; i < ${#e}; i++)); do
        c=${e:i:1}
        case $c in
        [a-z]) g+="[$c${c^^}]" ;;
        *) g+=$c ;;
        esac
    done
    printf '%s' "$g"
}

# COMPREPLY: the files under $1 (the word so far) whose extension is one of
# the rest of the arguments, and the directories (to go down into).
_thingpress_files()
{
    local cur=$1 ext f
    shift
    local -a out=()
    for ext in "$@"; do
        while IFS= read -r f; do
            [ -d "$f" ] || out+=("$f")
        done < <(compgen -f -X "!$(_thingpress_ext_glob "$ext")" -- "$cur")
    done
    while IFS= read -r f; do out+=("$f"); done < <(compgen -d -- "$cur")
    COMPREPLY=("${out[@]}")
    compopt -o filenames 2>/dev/null
}

_thingpress_dirs()
{
    local f
    COMPREPLY=()
    while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -d -- "$1")
    compopt -o filenames 2>/dev/null
}

_thingpress_any_file()
{
    local f
    COMPREPLY=()
    while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$1")
    compopt -o filenames 2>/dev/null
}

# The value of option $1 on the line (--opt V or --opt=V, the last one wins),
# in the words before the cursor.
_thingpress_value_of()
{
    local opt=$1 i w v=
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [ "$w" = "$opt" ]; then
            if [ "${COMP_WORDS[i + 1]:-}" = "=" ]; then # COMP_WORDBREAKS split it
                v=${COMP_WORDS[i + 2]:-}
            else
                v=${COMP_WORDS[i + 1]:-}
            fi
        elif [ "${w%%=*}" = "$opt" ] && [ "$w" != "${w#*=}" ]; then
            v=${w#*=}
        fi
    done
    printf '%s' "$v"
}

# The AWS profiles of the configuration files.
_thingpress_profiles()
{
    local config=${AWS_CONFIG_FILE:-$HOME/.aws/config}
    local creds=${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
    {
        [ -r "$config" ] && sed -n 's/^[[:space:]]*\[profile[[:space:]]\{1,\}\([^]]*\)\].*/\1/p; s/^[[:space:]]*\[\(default\)\].*/\1/p' "$config"
        [ -r "$creds" ] && sed -n 's/^[[:space:]]*\[\([^]]*\)\].*/\1/p' "$creds"
    } 2>/dev/null | sort -u
}

# Completes the value of option $1 in $2; returns 1 when $1 takes no value.
_thingpress_value()
{
    local opt=$1 cur=$2
    case $opt in
    --vendor)
        _thingpress_words "auto espressif infineon microchip generated pem der
            device-infos" "$cur"
        ;;
    --output)
        if [ "${COMP_WORDS[1]}" = status ]; then
            _thingpress_words "text json tsv csv device-infos" "$cur"
        else
            _thingpress_words "text json tsv" "$cur"
        fi
        ;;
    --cert-active | --thing-deferred)
        _thingpress_words "true false" "$cur"
        ;;
    --infineon-bundle)
        _thingpress_words "E0E0 E0E1 E0E2" "$cur"
        ;;
    --microchip-signers | --samples | --state)
        _thingpress_dirs "$cur"
        ;;
    --config)
        _thingpress_files "$cur" toml
        ;;
    --ca-bundle)
        _thingpress_files "$cur" pem crt cer
        ;;
    --db | --log)
        _thingpress_any_file "$cur"
        ;;
    --quotas)
        _thingpress_files "$cur" json
        _thingpress_words "aws-default unlimited" "$cur" -a
        ;;
    --credentials)
        if [[ $cur == @* ]]; then
            local f
            COMPREPLY=()
            while IFS= read -r f; do COMPREPLY+=("@$f"); done < <(compgen -f -- "${cur#@}")
            compopt -o filenames 2>/dev/null
        else
            COMPREPLY=()
        fi
        ;;
    --profile)
        _thingpress_words "$(_thingpress_profiles)" "$cur"
        ;;
    --listen)
        _thingpress_words "127.0.0.1:" "$cur"
        compopt -o nospace 2>/dev/null
        ;;
    --policies | --thing-groups | --thing-type | --endpoint-url | --region | \
        --account | --workers | --rate | --max-outage | --threads | --limit | \
        --settle | --rescan | --faults)
        COMPREPLY=() # free text
        ;;
    *) return 1 ;;
    esac
    return 0
}

# The job ids of the journal: `thingpress status --output tsv`, quietly, from
# the --state of the line when there is one.
_thingpress_jobs()
{
    local bin=$1 state
    state=$(_thingpress_value_of --state)
    if [ -n "$state" ]; then
        "$bin" status --output tsv --limit 0 --state "$state" 2>/dev/null | cut -f1
    else
        "$bin" status --output tsv --limit 0 2>/dev/null | cut -f1
    fi
}

_thingpress()
{
    local bin=${1:-thingpress} cur prev cmd
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]:-}
    [ "$bin" = "${bin#\~/}" ] || bin=$HOME/${bin#\~/}

    if ((COMP_CWORD == 1)); then
        _thingpress_words "console validate provision watch status audit sim --help
            --version" "$cur"
        return 0
    fi
    cmd=${COMP_WORDS[1]}

    # --opt=value: COMP_WORDBREAKS (with '=') makes it "--opt" "=" "value"
    if [ "$cur" = "=" ]; then
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        cur=
    elif [ "$prev" = "=" ] && ((COMP_CWORD >= 3)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == --*=* ]]; then # no split (COMP_WORDBREAKS without '=')
        prev=${cur%%=*}
        cur=${cur#*=}
    fi
    if [[ $prev == --* ]] && _thingpress_value "$prev" "$cur"; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        _thingpress_words "$(_thingpress_opts "$cmd")" "$cur"
        return 0
    fi

    case $cmd in
    validate | provision | console)
        case $(_thingpress_value_of --vendor) in
        espressif) _thingpress_files "$cur" csv ;;
        infineon) _thingpress_files "$cur" 7z ;;
        microchip | device-infos) _thingpress_files "$cur" json ;;
        generated) _thingpress_files "$cur" txt ;;
        pem) _thingpress_files "$cur" pem crt ;;
        der) _thingpress_files "$cur" der cer ;;
        *) _thingpress_files "$cur" csv 7z json txt pem crt der cer ;;
        esac
        ;;
    watch)
        _thingpress_dirs "$cur"
        ;;
    status)
        _thingpress_words "$(_thingpress_jobs "$bin")" "$cur"
        ;;
    audit)
        ((COMP_CWORD == 2)) && _thingpress_words "verify" "$cur"
        ;;
    esac
    return 0
}

complete -F _thingpress thingpress
