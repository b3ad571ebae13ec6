# credproc shell integration for PowerShell. Load it from $PROFILE:
#
#   credproc shell-init powershell | Out-String | Invoke-Expression
#
# credproc-use NAME   switch this session to profile NAME's credentials (through `credproc env`)
# credproc-clear      remove them (and the profile) from this session again
# credproc-prompt     return "NAME 42m" (minutes the credentials have left), or "":
#                     function prompt { "$(credproc-prompt) PS $($executionContext.SessionState.Path.CurrentLocation)> " }

function credproc-use {
    param([Parameter(Mandatory = $true, Position = 0)][string]$Name)
    # ($Profile is PowerShell's own variable, hence $Name.)
    $out = & credproc env --profile $Name --format powershell
    if ($LASTEXITCODE -ne 0) { return }
    Invoke-Expression ($out -join "`n")
}

function credproc-clear {
    $out = & credproc env --unset --format powershell
    if ($LASTEXITCODE -ne 0) { return }
    Invoke-Expression ($out -join "`n")
}

function credproc-prompt {
    if (-not $env:CREDPROC_PROFILE) { return "" }
    if (-not $env:AWS_CREDENTIAL_EXPIRATION) { return $env:CREDPROC_PROFILE }
    $styles = [System.Globalization.DateTimeStyles]'AdjustToUniversal, AssumeUniversal'
    $expires = [DateTime]::ParseExact($env:AWS_CREDENTIAL_EXPIRATION, "yyyy-MM-dd'T'HH:mm:ss'Z'",
        [System.Globalization.CultureInfo]::InvariantCulture, $styles)
    $seconds = ($expires - [DateTime]::UtcNow).TotalSeconds
    if ($seconds -le 0) { return "$($env:CREDPROC_PROFILE) expired" }
    return "$($env:CREDPROC_PROFILE) $([Math]::Floor($seconds / 60))m"
}

# Tab completion of profile names for credproc-use, answered by credproc from ~/.aws/config.
Register-ArgumentCompleter -CommandName credproc-use -ParameterName Name -ScriptBlock {
    param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
    $saved = @($env:COMP_WORDS, $env:COMP_CWORD, $env:_CREDPROC_COMPLETE)
    try {
        $env:COMP_WORDS = "credproc credential-process --profile $wordToComplete"
        $env:COMP_CWORD = '3'
        $env:_CREDPROC_COMPLETE = 'bash_complete'
        $lines = @(& credproc 2>$null)
    } finally {
        $env:COMP_WORDS, $env:COMP_CWORD, $env:_CREDPROC_COMPLETE = $saved
    }
    foreach ($line in $lines) {
        if ($line.StartsWith('plain,')) {
            $name = $line.Substring(6)
            [System.Management.Automation.CompletionResult]::new($name, $name, 'ParameterValue', $name)
        }
    }
}
