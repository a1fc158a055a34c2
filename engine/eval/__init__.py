"""Evaluation: PaSa's metrics over query files in AutoScholarQuery/RealScholarQuery format."""
