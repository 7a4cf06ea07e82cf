#!/usr/bin/env python3
"""
Performance regression detection script for CI/CD pipeline.
"""

import json
import argparse
import sys
from pathlib import Path
from typing import Dict, Any


def load_thresholds(thresholds_file: Path) -> Dict[str, Any]:
    """Load performance thresholds from JSON file."""
    with open(thresholds_file, 'r') as f:
        return json.load(f)


def load_analysis(analysis_file: Path) -> Dict[str, Any]:
    """Load analysis results from JSON file."""
    with open(analysis_file, 'r') as f:
        return json.load(f)


def check_regression(analysis: Dict[str, Any], thresholds: Dict[str, Any]) -> tuple[bool, list[str]]:
    """
    Check if performance metrics exceed critical thresholds.

    Returns:
        Tuple of (has_regression, list_of_issues)
    """
    issues = []

    # Check response time P95
    if 'response_time_p95' in analysis:
        rt_p95 = analysis['response_time_p95']
        threshold = thresholds['response_time_p95']['critical']
        if rt_p95 > threshold:
            issues.append(f"Response time P95 ({rt_p95:.2f}s) exceeds critical threshold ({threshold}s)")

    # Check response time P99
    if 'response_time_p99' in analysis:
        rt_p99 = analysis['response_time_p99']
        threshold = thresholds['response_time_p99']['critical']
        if rt_p99 > threshold:
            issues.append(f"Response time P99 ({rt_p99:.2f}s) exceeds critical threshold ({threshold}s)")

    # Check error rate
    if 'error_rate' in analysis:
        error_rate = analysis['error_rate']
        threshold = thresholds['error_rate']['critical']
        if error_rate > threshold:
            issues.append(f"Error rate ({error_rate:.2f}%) exceeds critical threshold ({threshold}%)")

    # Check RPS
    if 'requests_per_second' in analysis:
        rps = analysis['requests_per_second']
        threshold = thresholds['requests_per_second']['critical']
        if rps < threshold:
            issues.append(f"Requests per second ({rps:.1f}) below critical threshold ({threshold})")

    # Check resource usage
    if 'cpu_usage_avg' in analysis:
        cpu = analysis['cpu_usage_avg']
        threshold = thresholds['cpu_usage']['critical']
        if cpu > threshold:
            issues.append(f"CPU usage ({cpu:.1f}%) exceeds critical threshold ({threshold}%)")

    if 'memory_usage_avg' in analysis:
        memory = analysis['memory_usage_avg']
        threshold = thresholds['memory_usage']['critical']
        if memory > threshold:
            issues.append(f"Memory usage ({memory:.1f}%) exceeds critical threshold ({threshold}%)")

    has_regression = len(issues) > 0
    return has_regression, issues


def main():
    parser = argparse.ArgumentParser(description='Check for performance regressions')
    parser.add_argument('--analysis', required=True, help='Path to analysis JSON file')
    parser.add_argument('--thresholds', required=True, help='Path to thresholds JSON file')
    parser.add_argument('--baseline', help='Path to baseline performance document')

    args = parser.parse_args()

    analysis_file = Path(args.analysis)
    thresholds_file = Path(args.thresholds)

    if not analysis_file.exists():
        print(f"Error: Analysis file {analysis_file} does not exist")
        sys.exit(1)

    if not thresholds_file.exists():
        print(f"Error: Thresholds file {thresholds_file} does not exist")
        sys.exit(1)

    try:
        thresholds = load_thresholds(thresholds_file)
        analysis = load_analysis(analysis_file)

        has_regression, issues = check_regression(analysis, thresholds)

        if has_regression:
            print("ðŸš¨ PERFORMANCE REGRESSION DETECTED!")
            print("\nIssues found:")
            for issue in issues:
                print(f"  âŒ {issue}")
            print("\nFailing CI/CD pipeline due to performance regression.")
            sys.exit(1)
        else:
            print("âœ… No performance regression detected.")
            print("All metrics are within acceptable thresholds.")

    except Exception as e:
        print(f"Error checking regression: {e}")
        sys.exit(1)


if __name__ == '__main__':
    main()
