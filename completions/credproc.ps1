# PowerShell completion for credproc. Load it from $PROFILE:
#   credproc completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName credproc -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    # The words before the cursor; the one being completed is the last when it is not empty.
    $words = @($commandAst.CommandElements |
        Where-Object { $_.Extent.StartOffset -lt $cursorPosition } |
        ForEach-Object { $_.Extent.Text })
    $cword = $words.Count
    if ($wordToComplete -ne '') { $cword = $words.Count - 1 }
    $saved = @($env:COMP_WORDS, $env:COMP_CWORD, $env:_CREDPROC_COMPLETE)
    try {
        $env:COMP_WORDS = ($words -join ' ')
        $env:COMP_CWORD = "$cword"
        $env:_CREDPROC_COMPLETE = 'powershell_complete'
        $response = @(& credproc 2>$null)
    } finally {
        $env:COMP_WORDS, $env:COMP_CWORD, $env:_CREDPROC_COMPLETE = $saved
    }
    foreach ($item in $response) {
        $type, $value, $help = $item -split "`t", 3
        if ($type -eq 'plain') {
            if (-not $help) { $help = $value }
            [System.Management.Automation.CompletionResult]::new(
                $value, $value, 'ParameterValue', $help)
        } elseif ($type -eq 'file' -or $type -eq 'dir') {
            Get-ChildItem -Path "$wordToComplete*" -ErrorAction SilentlyContinue |
                Where-Object { $type -eq 'file' -or $_.PSIsContainer } |
                ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new(
                        $_.Name, $_.Name, 'ProviderItem', $_.Name)
                }
        }
    }
}
